package session

import (
	"testing"

	"github.com/brine-project/brine/pkg/proto"
)

// The session entry points take bytes straight from the network: whatever
// arrives, they must return an error or a result, never panic.

func fuzzRig(f *testing.F) (*rig, *Client) {
	r := newRig(f)
	c := r.client("m", nil)
	r.accepted(c)
	return r, c
}

func FuzzHandleAuth(f *testing.F) {
	r, c := fuzzRig(f)
	h, _ := c.Hello()
	f.Add(h)
	f.Add([]byte("BR\x01\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reply, _, err := r.auth.HandleAuth(data)
		if err == nil && reply == nil {
			t.Fatal("no error and no reply")
		}
	})
}

func FuzzHandleAuthReply(f *testing.F) {
	r, c := fuzzRig(f)
	h, _ := c.Hello()
	reply, _, _ := r.auth.HandleAuth(h)
	f.Add(reply)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = c.HandleAuthReply(data)
	})
}

func FuzzOpenPublish(f *testing.F) {
	r, c := fuzzRig(f)
	p, _ := r.auth.SealPublish("job", []byte("body"))
	f.Add(p)
	f.Add(r.auth.Notice("x"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, _, err := c.OpenPublish(data); err == nil {
			// Only the master's own publishes open; the seed does once.
			if _, derr := proto.DecodePublish(data); derr != nil {
				t.Fatal("opened something that does not decode")
			}
		}
		_, _, _ = c.HandleReAuth(data)
	})
}

func FuzzOpenRequest(f *testing.F) {
	r, c := fuzzRig(f)
	req, _, _ := c.SealRequest("return", []byte("x"))
	f.Add(req)
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, m, err := r.auth.OpenRequest(data); err == nil && m == nil {
			t.Fatal("no error and no request")
		}
	})
}

func FuzzOpenReply(f *testing.F) {
	r, c := fuzzRig(f)
	rep, _ := r.auth.SealReply("m", proto.Reply{ID: 1, Body: []byte("x")})
	f.Add(rep)
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := c.OpenReply(data); err == nil && m == nil {
			t.Fatal("no error and no reply")
		}
	})
}
