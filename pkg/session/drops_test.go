package session

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/crypto"
	"github.com/brine-project/brine/pkg/keys"
	"github.com/brine-project/brine/pkg/proto"
)

// signedPublish builds a publish by hand, to forge what the Authority never
// produces.
func signedPublish(signer *crypto.KeyPair, key *[32]byte, gen uint64, ts int64, id string, payload []byte) []byte {
	p := &proto.Publish{SessionKeyID: gen, Timestamp: ts, MessageID: id,
		Ciphertext: crypto.Seal(key, payload, publishAD(gen, ts, id))}
	if signer != nil {
		p.Signature = signer.Sign(proto.SignedBytes(p))
	}
	return proto.Encode(p)
}

func TestPublishDrops(t *testing.T) {
	r := newRig(t)
	c := r.client("m", nil)
	r.accepted(c)
	sk, gen := c.sessionKeys[0].key, c.sessionKeys[0].id
	now := r.clock.Now().UnixNano()
	payload := proto.Encode(&proto.PublishPayload{Kind: "job", Body: []byte("x")})
	attacker, _ := crypto.Generate()

	valid, err := r.auth.SealPublish("job", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte(nil), valid...)
	tampered[len(tampered)-70] ^= 0x01 // inside the ciphertext

	tests := []struct {
		name    string
		data    func() []byte
		wantErr error
		counter func(Stats) uint64
	}{
		{"garbage", func() []byte { return []byte("hello") }, ErrMalformed, func(s Stats) uint64 { return s.Malformed }},
		{"wrong message type", func() []byte { return proto.Encode(&proto.Heartbeat{}) }, ErrMalformed, func(s Stats) uint64 { return s.Malformed }},
		{"unsigned", func() []byte { return signedPublish(nil, sk, gen, now, "u", payload) }, ErrUnsigned, func(s Stats) uint64 { return s.Unsigned }},
		{"tampered ciphertext", func() []byte { return tampered }, ErrBadSignature, func(s Stats) uint64 { return s.BadSignature }},
		// A minion holds the session key, but cannot sign as the master.
		{"forged by a key holder", func() []byte { return signedPublish(attacker, sk, gen, now, "f", payload) }, ErrBadSignature, func(s Stats) uint64 { return s.BadSignature }},
		{"stale", func() []byte {
			return signedPublish(r.master, sk, gen, now-int64(6*time.Minute), "s", payload)
		}, ErrStale, func(s Stats) uint64 { return s.Stale }},
		{"from the future", func() []byte {
			return signedPublish(r.master, sk, gen, now+int64(6*time.Minute), "s2", payload)
		}, ErrStale, func(s Stats) uint64 { return s.Stale }},
		{"unknown generation", func() []byte { return signedPublish(r.master, sk, gen+5, now, "g", payload) }, ErrUnknownKey, func(s Stats) uint64 { return s.UnknownKey }},
		{"sealed with another key", func() []byte {
			return signedPublish(r.master, crypto.NewSymmetricKey(), gen, now, "k", payload)
		}, ErrUndecryptable, func(s Stats) uint64 { return s.Undecryptable }},
		{"bad payload", func() []byte { return signedPublish(r.master, sk, gen, now, "p", []byte("junk")) }, ErrMalformed, func(s Stats) uint64 { return s.Malformed }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := c.Stats()
			_, _, err := c.OpenPublish(tt.data())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			after := c.Stats()
			if tt.counter(after) != tt.counter(before)+1 {
				t.Fatalf("counter not incremented: %+v -> %+v", before, after)
			}
			if after.Opened != before.Opened {
				t.Fatal("a dropped publish was counted as opened")
			}
		})
	}
	t.Run("replayed", func(t *testing.T) {
		if _, _, err := c.OpenPublish(valid); err != nil {
			t.Fatal(err)
		}
		before := c.Stats().Replayed
		if _, _, err := c.OpenPublish(valid); !errors.Is(err, ErrReplay) {
			t.Fatalf("err = %v", err)
		}
		if c.Stats().Replayed != before+1 {
			t.Fatal("replay not counted")
		}
	})
	t.Run("before auth", func(t *testing.T) {
		fresh := r.client("new", nil)
		if _, _, err := fresh.OpenPublish(valid); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("err = %v", err)
		}
		if fresh.Stats().UnknownKey != 1 {
			t.Fatal("not counted")
		}
	})
}

// TestReplayWindow: an id is refused as long as its timestamp is within
// the window; once memory is full, the oldest ids are forgotten but
// anything not newer than them is refused, never let through.
func TestReplayWindow(t *testing.T) {
	r := newRig(t)
	c := r.client("m", func(cfg *ClientConfig) { cfg.ReplayMemory = 4 })
	r.accepted(c)
	var pubs [][]byte
	for range 6 {
		r.clock.Add(time.Second)
		p, err := r.auth.SealPublish("job", nil)
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, p)
	}
	for i, p := range pubs {
		if _, _, err := c.OpenPublish(p); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	for i, p := range pubs {
		if _, _, err := c.OpenPublish(p); !errors.Is(err, ErrReplay) {
			t.Fatalf("replay of publish %d (memory 4): %v", i, err)
		}
	}
	// Once the window passes, a replay is stale instead.
	r.clock.Add(DefaultWindow + time.Minute)
	if _, _, err := c.OpenPublish(pubs[5]); !errors.Is(err, ErrStale) {
		t.Fatalf("old replay: %v", err)
	}
	// New publishes still flow after old ids expired.
	p, _ := r.auth.SealPublish("job", nil)
	if _, _, err := c.OpenPublish(p); err != nil {
		t.Fatal(err)
	}
}

func TestIDCache(t *testing.T) {
	c := newIDCache(2)
	steps := []struct {
		id      string
		ts, exp int64
		want    bool
	}{
		{"a", 10, 0, true},
		{"a", 10, 0, false},
		{"b", 11, 0, true},
		{"c", 12, 0, true},  // evicts a, floor 10
		{"d", 10, 0, false}, // not newer than the floor: may be a forgotten replay
		{"e", 13, 0, true},  // evicts b, floor 11
		{"c", 12, 0, false},
		{"f", 20, 14, true}, // expiry drops c and e first
	}
	for i, s := range steps {
		if got := c.add(s.id, s.ts, s.exp); got != s.want {
			t.Fatalf("step %d add(%s,%d) = %v, want %v", i, s.id, s.ts, got, s.want)
		}
	}
	if len(c.ids) != 1 {
		t.Fatalf("cache holds %d ids", len(c.ids))
	}
}

func TestSeqWindow(t *testing.T) {
	var w seqWindow
	steps := []struct {
		n    uint64
		want bool
	}{
		{0, false}, {1, true}, {1, false}, {3, true}, {2, true}, {2, false},
		{100, true}, {36, false}, {37, true}, {37, false}, {101, true}, {200, true}, {137, true}, {136, false},
	}
	for i, s := range steps {
		if got := w.accept(s.n); got != s.want {
			t.Fatalf("step %d accept(%d) = %v, want %v", i, s.n, got, s.want)
		}
	}
}

func TestMasterIdentity(t *testing.T) {
	r := newRig(t)
	right := r.master.Public.Fingerprint()
	t.Run("matching finger", func(t *testing.T) {
		c := r.client("f1", func(cfg *ClientConfig) { cfg.MasterFinger = strings.ToUpper(right) })
		if st, err := r.authOnce(c); err != nil || st != proto.StatusPending {
			t.Fatalf("%v, %v", st, err)
		}
	})
	t.Run("wrong finger", func(t *testing.T) {
		c := r.client("f2", func(cfg *ClientConfig) { cfg.MasterFinger = crypto.Fingerprint([]byte("other")) })
		if _, err := r.authOnce(c); !errors.Is(err, ErrMasterFinger) {
			t.Fatalf("err = %v", err)
		}
		if _, ok := c.MasterKeys(); ok {
			t.Fatal("a refused master was pinned")
		}
	})
	t.Run("pinned key survives restart and refuses another master", func(t *testing.T) {
		dir := t.TempDir()
		c := r.client("p", func(cfg *ClientConfig) { cfg.PKIDir = dir })
		if _, err := r.authOnce(c); err != nil {
			t.Fatal(err)
		}
		impostor := newRig(t) // another master, other keys
		restarted := r.client("p", func(cfg *ClientConfig) { cfg.PKIDir = dir; cfg.Keys = c.cfg.Keys })
		if _, err := impostor.authOnce(restarted); !errors.Is(err, ErrMasterKey) {
			t.Fatalf("err = %v", err)
		}
		if st, err := r.authOnce(restarted); err != nil || st != proto.StatusPending {
			t.Fatalf("real master after restart: %v, %v", st, err)
		}
	})
	t.Run("reply to another hello", func(t *testing.T) {
		c := r.client("n", nil)
		h1, _ := c.Hello()
		reply, _, err := r.auth.HandleAuth(h1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Hello(); err != nil { // supersedes h1
			t.Fatal(err)
		}
		if _, err := c.HandleAuthReply(reply); !errors.Is(err, ErrUnexpectedReply) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("tampered reply", func(t *testing.T) {
		c := r.client("tr", nil)
		h, _ := c.Hello()
		reply, _, _ := r.auth.HandleAuth(h)
		reply[10] ^= 1
		if _, err := c.HandleAuthReply(reply); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestHandleAuthRefuses(t *testing.T) {
	r := newRig(t)
	c := r.client("m", nil)
	hello, _ := c.Hello()
	if _, _, err := r.auth.HandleAuth(hello); err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte(nil), hello...)
	tampered[8] ^= 1
	other, _ := crypto.Generate()
	stale := &proto.AuthRequest{MinionID: "m", Keys: c.cfg.Keys.Public, Timestamp: r.clock.Now().Add(-time.Hour).UnixNano()}
	stale.Signature = c.cfg.Keys.Sign(proto.SignedBytes(stale))
	forged := &proto.AuthRequest{MinionID: "m", Keys: c.cfg.Keys.Public, Timestamp: r.clock.Now().UnixNano()}
	forged.Signature = other.Sign(proto.SignedBytes(forged))
	unsigned := &proto.AuthRequest{MinionID: "m", Keys: c.cfg.Keys.Public, Timestamp: r.clock.Now().UnixNano()}
	badID := &proto.AuthRequest{MinionID: "../etc", Keys: other.Public, Timestamp: r.clock.Now().UnixNano()}
	badID.Signature = other.Sign(proto.SignedBytes(badID))
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"replayed hello", hello, ErrReplay},
		{"tampered", tampered, ErrBadSignature},
		{"stale", proto.Encode(stale), ErrStale},
		{"signed by another key", proto.Encode(forged), ErrBadSignature},
		{"unsigned", proto.Encode(unsigned), ErrUnsigned},
		{"bad id", proto.Encode(badID), keys.ErrInvalidID},
		{"garbage", []byte("BR\x01\x01"), proto.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, _, err := r.auth.HandleAuth(tt.data)
			if !errors.Is(err, tt.want) || reply != nil {
				t.Fatalf("reply %v, err = %v, want %v", reply != nil, err, tt.want)
			}
		})
	}
}

// TestDenied: the same id with another key is denied and changes nothing
// for the minion holding the accepted key.
func TestDenied(t *testing.T) {
	r := newRig(t)
	real := r.client("web", nil)
	r.accepted(real)
	impostor := r.client("web", nil)
	if st, err := r.authOnce(impostor); err != nil || st != proto.StatusDenied {
		t.Fatalf("impostor: %v, %v", st, err)
	}
	if _, _, err := impostor.SealRequest("pillar", nil); !errors.Is(err, ErrNotAuthenticated) {
		t.Fatalf("impostor holds a request key: %v", err)
	}
	req, _, err := real.SealRequest("pillar", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.auth.OpenRequest(req); err != nil {
		t.Fatalf("real minion lost access: %v", err)
	}
}

func TestRequests(t *testing.T) {
	r := newRig(t)
	a, b := r.client("a", nil), r.client("b", nil)
	r.accepted(a)
	r.accepted(b)
	req, _, _ := a.SealRequest("return", []byte("1"))
	if _, _, err := r.auth.OpenRequest(req); err != nil {
		t.Fatal(err)
	}
	t.Run("replayed", func(t *testing.T) {
		if _, _, err := r.auth.OpenRequest(req); !errors.Is(err, ErrReplay) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("claims another minion", func(t *testing.T) {
		env, _ := proto.DecodeRequestEnvelope(req)
		env.MinionID = "b"
		env.KeyID = b.reqKey.id
		if _, _, err := r.auth.OpenRequest(proto.Encode(env)); !errors.Is(err, ErrUndecryptable) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("stale", func(t *testing.T) {
		old, _, _ := a.SealRequest("return", nil)
		r.clock.Add(DefaultWindow + time.Second)
		defer r.clock.Add(-DefaultWindow - time.Second)
		if _, _, err := r.auth.OpenRequest(old); !errors.Is(err, ErrStale) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("sealed before a re-auth still opens", func(t *testing.T) {
		inFlight, _, _ := a.SealRequest("return", []byte("late"))
		if st, err := r.authOnce(a); err != nil || st != proto.StatusAccepted {
			t.Fatal(st, err)
		}
		_, got, err := r.auth.OpenRequest(inFlight)
		if err != nil || !bytes.Equal(got.Body, []byte("late")) {
			t.Fatalf("in-flight request: %v", err)
		}
		now, id, _ := a.SealRequest("return", nil)
		if _, got, err := r.auth.OpenRequest(now); err != nil || got.ID != id || id != 1 {
			t.Fatalf("new key request: id %d, %v", id, err)
		}
	})
	t.Run("reply for another minion", func(t *testing.T) {
		rep, err := r.auth.SealReply("b", proto.Reply{ID: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.OpenReply(rep); !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrUndecryptable) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown minion", func(t *testing.T) {
		if _, err := r.auth.SealReply("nobody", proto.Reply{}); !errors.Is(err, ErrUnknownMinion) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestReAuthNotice(t *testing.T) {
	r := newRig(t)
	c := r.client("m", nil)
	r.accepted(c)
	other, _ := crypto.Generate()
	forged := &proto.ReAuth{Reason: "x", Timestamp: r.clock.Now().UnixNano()}
	forged.Signature = other.Sign(proto.SignedBytes(forged))

	current := r.auth.Notice("restart")
	if _, needed, err := c.HandleReAuth(current); err != nil || needed {
		t.Fatalf("notice for the held generation: needed %v, %v", needed, err)
	}
	if _, _, err := c.HandleReAuth(current); !errors.Is(err, ErrReplay) {
		t.Fatalf("replayed notice: %v", err)
	}
	if _, _, err := c.HandleReAuth(proto.Encode(forged)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("forged notice: %v", err)
	}
	r.clock.Add(time.Millisecond)
	before, err := r.auth.SealPublish("job", []byte("old gen"))
	if err != nil {
		t.Fatal(err)
	}
	n := r.auth.Rotate("interval")
	if _, needed, err := c.HandleReAuth(n); err != nil || !needed {
		t.Fatalf("rotation notice: %v, %v", needed, err)
	}
	// Publishes under the old generation still open until re-auth,
	// and after it (the previous key is kept for in-flight publishes).
	if st, err := r.authOnce(c); err != nil || st != proto.StatusAccepted || c.SessionKeyID() != r.auth.SessionKeyID() {
		t.Fatalf("re-auth: %v, %v, gen %d", st, err, c.SessionKeyID())
	}
	if _, body, err := c.OpenPublish(before); err != nil || string(body) != "old gen" {
		t.Fatalf("in-flight publish of the previous generation: %v", err)
	}
}
