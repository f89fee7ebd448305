package session

import (
	"bytes"
	"testing"

	"github.com/brine-project/brine/pkg/proto"
)

// BenchmarkPublishRoundTrip: master seal+sign, minion verify+open, 1 KiB.
func BenchmarkPublishRoundTrip(b *testing.B) {
	r := newRig(b)
	c := r.client("m", nil)
	r.accepted(c)
	body := bytes.Repeat([]byte{'x'}, 1024)
	for b.Loop() {
		p, err := r.auth.SealPublish("job", body)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.OpenPublish(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealPublish(b *testing.B) {
	r := newRig(b)
	body := bytes.Repeat([]byte{'x'}, 1024)
	for b.Loop() {
		if _, err := r.auth.SealPublish("job", body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestRoundTrip: minion seals a 256-byte return, master opens
// it and seals a reply, minion opens the reply.
func BenchmarkRequestRoundTrip(b *testing.B) {
	r := newRig(b)
	c := r.client("m", nil)
	r.accepted(c)
	body := bytes.Repeat([]byte{'x'}, 256)
	for b.Loop() {
		req, _, err := c.SealRequest(proto.KindReturn, body)
		if err != nil {
			b.Fatal(err)
		}
		id, m, err := r.auth.OpenRequest(req)
		if err != nil {
			b.Fatal(err)
		}
		rep, err := r.auth.SealReply(id, proto.Reply{ID: m.ID})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.OpenReply(rep); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandleAuth: one accepted minion's re-auth as the master sees it
// (verify, key store lookup on disk, two boxes, sign) plus the minion's
// handling of the reply.
func BenchmarkHandleAuth(b *testing.B) {
	r := newRig(b)
	c := r.client("m", nil)
	r.accepted(c)
	for b.Loop() {
		hello, err := c.Hello()
		if err != nil {
			b.Fatal(err)
		}
		reply, _, err := r.auth.HandleAuth(hello)
		if err != nil {
			b.Fatal(err)
		}
		if st, err := c.HandleAuthReply(reply); err != nil || st != proto.StatusAccepted {
			b.Fatal(st, err)
		}
	}
}
