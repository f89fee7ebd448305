package session

import (
	"errors"
	"testing"
	"time"
)

// TestKeyUpdateAfterRotation: minions that stay accepted get the new session
// key directly and read the next publish without re-authenticating; the
// revoked one gets no update and reads nothing; replays and other minions'
// updates are refused.
func TestKeyUpdateAfterRotation(t *testing.T) {
	r := newRig(t)
	good, other, bad := r.client("good", nil), r.client("other", nil), r.client("bad", nil)
	for _, c := range []*Client{good, other, bad} {
		r.accepted(c)
	}
	if err := r.store.Reject("bad"); err != nil {
		t.Fatal(err)
	}
	notice := r.auth.Rotate("reject bad")
	updates := r.auth.SessionKeyUpdates()
	if _, ok := updates["bad"]; ok {
		t.Fatal("a rejected minion got the new session key")
	}
	if len(updates) != 2 {
		t.Fatalf("updates for %d minions, want 2", len(updates))
	}
	if _, err := other.HandleKeyUpdate(updates["good"]); !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrUndecryptable) {
		t.Fatalf("another minion's update: %v", err)
	}
	if fresh, err := good.HandleKeyUpdate(updates["good"]); err != nil || !fresh {
		t.Fatalf("HandleKeyUpdate = %v, %v", fresh, err)
	}
	if fresh, err := good.HandleKeyUpdate(updates["good"]); err != nil || fresh {
		t.Fatalf("replayed update installed again: %v, %v", fresh, err)
	}
	if _, needed, err := good.HandleReAuth(notice); err != nil || needed {
		t.Fatalf("notice after update: needed=%v err=%v", needed, err)
	}
	pub, err := r.auth.SealPublish("job", []byte("next"))
	if err != nil {
		t.Fatal(err)
	}
	if _, body, err := good.OpenPublish(pub); err != nil || string(body) != "next" {
		t.Fatalf("good after update: %q, %v", body, err)
	}
	if _, _, err := bad.OpenPublish(pub); err == nil {
		t.Fatal("the rejected minion read a publish after rotation")
	}

	// An update older than the window is stale.
	r.auth.Rotate("interval")
	late := r.auth.SessionKeyUpdates()["other"]
	r.clock.Add(DefaultWindow + time.Minute)
	if _, err := other.HandleKeyUpdate(late); !errors.Is(err, ErrStale) {
		t.Fatalf("stale update: %v", err)
	}
	if _, err := other.HandleKeyUpdate([]byte("garbage")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("garbage: %v", err)
	}
}

// FuzzHandleKeyUpdate: whatever arrives on a minion's own topic, a key
// update never panics and never installs a key it could not open.
func FuzzHandleKeyUpdate(f *testing.F) {
	r, c := fuzzRig(f)
	r.auth.Rotate("fuzz")
	f.Add(r.auth.SessionKeyUpdates()["m"])
	f.Add([]byte("BR\x01\x07"))
	f.Fuzz(func(t *testing.T, data []byte) {
		before := c.SessionKeyID()
		fresh, err := c.HandleKeyUpdate(data)
		if err != nil && (fresh || c.SessionKeyID() != before) {
			t.Fatal("a refused update changed the session key")
		}
	})
}
