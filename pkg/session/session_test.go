package session

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/crypto"
	"github.com/brine-project/brine/pkg/keys"
	"github.com/brine-project/brine/pkg/proto"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type rig struct {
	t      testing.TB
	clock  *clock
	master *crypto.KeyPair
	store  *keys.FileStore
	auth   *Authority
	events chan keys.Event
}

func newRig(t testing.TB) *rig {
	t.Helper()
	r := &rig{t: t, clock: &clock{t: time.Unix(1_800_000_000, 0)}, events: make(chan keys.Event, 64)}
	var err error
	if r.master, err = crypto.Generate(); err != nil {
		t.Fatal(err)
	}
	if r.store, err = keys.NewFileStore(t.TempDir(), keys.Options{OnEvent: func(e keys.Event) { r.events <- e }}); err != nil {
		t.Fatal(err)
	}
	if r.auth, err = NewAuthority(AuthorityConfig{Keys: r.master, Store: r.store, PublishPort: 4505, Now: r.clock.Now}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) client(id string, mod func(*ClientConfig)) *Client {
	r.t.Helper()
	kp, err := crypto.Generate()
	if err != nil {
		r.t.Fatal(err)
	}
	cfg := ClientConfig{ID: id, Keys: kp, PKIDir: r.t.TempDir(), Now: r.clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// auth runs one hello/reply exchange and returns the status.
func (r *rig) authOnce(c *Client) (Status, error) {
	r.t.Helper()
	hello, err := c.Hello()
	if err != nil {
		r.t.Fatal(err)
	}
	reply, id, err := r.auth.HandleAuth(hello)
	if err != nil {
		r.t.Fatalf("HandleAuth: %v", err)
	}
	if id != c.cfg.ID {
		r.t.Fatalf("HandleAuth id %q", id)
	}
	return c.HandleAuthReply(reply)
}

// accepted authenticates c, accepting its key in the store.
func (r *rig) accepted(c *Client) {
	r.t.Helper()
	if st, err := r.authOnce(c); err != nil || st != proto.StatusPending {
		r.t.Fatalf("first auth: %v, %v", st, err)
	}
	if err := r.store.Accept(c.cfg.ID); err != nil {
		r.t.Fatal(err)
	}
	if st, err := r.authOnce(c); err != nil || st != proto.StatusAccepted {
		r.t.Fatalf("auth after accept: %v, %v", st, err)
	}
}

func TestHandshake(t *testing.T) {
	r := newRig(t)
	c := r.client("web-1", nil)

	st, err := r.authOnce(c)
	if err != nil || st != proto.StatusPending {
		t.Fatalf("unknown key: %v, %v", st, err)
	}
	if e := <-r.events; e != (keys.Event{ID: "web-1", To: keys.Pending}) {
		t.Fatalf("event %+v", e)
	}
	if _, _, err := c.SealRequest("return", nil); !errors.Is(err, ErrNotAuthenticated) {
		t.Fatalf("pending minion sealed a request: %v", err)
	}
	if err := r.store.Accept("web-1"); err != nil {
		t.Fatal(err)
	}
	if st, err := r.authOnce(c); err != nil || st != proto.StatusAccepted {
		t.Fatalf("accepted key: %v, %v", st, err)
	}
	// The master key is pinned on disk.
	pin, err := os.ReadFile(filepath.Join(c.cfg.PKIDir, PinFile))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := crypto.ParsePublicKeys(pin); err != nil || !p.Equal(r.master.Public) {
		t.Fatalf("pinned key wrong: %v", err)
	}

	pub, err := r.auth.SealPublish("job", []byte(`{"fun":"test.ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	kind, body, err := c.OpenPublish(pub)
	if err != nil || kind != "job" || string(body) != `{"fun":"test.ping"}` {
		t.Fatalf("OpenPublish = %q, %q, %v", kind, body, err)
	}

	req, reqID, err := c.SealRequest(proto.KindReturn, []byte("True"))
	if err != nil {
		t.Fatal(err)
	}
	id, got, err := r.auth.OpenRequest(req)
	if err != nil || id != "web-1" || got.Kind != proto.KindReturn || got.ID != reqID || string(got.Body) != "True" {
		t.Fatalf("OpenRequest = %q, %+v, %v", id, got, err)
	}
	rep, err := r.auth.SealReply(id, proto.Reply{ID: got.ID, Status: proto.ReplyOK, Body: []byte("ok")})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := c.OpenReply(rep)
	if err != nil || reply.ID != reqID || string(reply.Body) != "ok" {
		t.Fatalf("OpenReply = %+v, %v", reply, err)
	}
	if s := c.Stats(); s.Opened != 1 || s != (Stats{Opened: 1}) {
		t.Fatalf("stats %+v", s)
	}
	if c.PublishPort() != 4505 {
		t.Fatalf("publish port %d", c.PublishPort())
	}
}

// TestMasterRestart: a new master process (same keys and store, new session
// key) is accepted by a minion that re-authenticates, and only its new
// publishes open.
func TestMasterRestart(t *testing.T) {
	r := newRig(t)
	c := r.client("m", nil)
	r.accepted(c)
	r.clock.Add(time.Second)
	restarted, err := NewAuthority(AuthorityConfig{Keys: r.master, Store: r.store, Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	// The minion's request key died with the old process.
	req, _, _ := c.SealRequest("return", nil)
	if _, _, err := restarted.OpenRequest(req); !errors.Is(err, ErrUnknownMinion) {
		t.Fatalf("err = %v", err)
	}
	if _, needed, err := c.HandleReAuth(restarted.Notice("unknown request key")); err != nil || !needed {
		t.Fatalf("notice: %v, %v", needed, err)
	}
	r.auth = restarted
	if st, err := r.authOnce(c); err != nil || st != proto.StatusAccepted {
		t.Fatalf("re-auth: %v, %v", st, err)
	}
	p, _ := restarted.SealPublish("job", []byte("new"))
	if _, body, err := c.OpenPublish(p); err != nil || string(body) != "new" {
		t.Fatalf("publish of the restarted master: %v", err)
	}
	req, _, _ = c.SealRequest("return", nil)
	if _, _, err := restarted.OpenRequest(req); err != nil {
		t.Fatalf("request to the restarted master: %v", err)
	}
}

// TestRevokedMinionLosesAccess: after its key is rejected or deleted and the
// session key rotated, a minion can read no new publish and send no request,
// while the others carry on after re-auth.
func TestRevokedMinionLosesAccess(t *testing.T) {
	for _, revoke := range []string{"reject", "delete"} {
		t.Run(revoke, func(t *testing.T) {
			r := newRig(t)
			good, bad := r.client("good", nil), r.client("bad", nil)
			r.accepted(good)
			r.accepted(bad)
			oldKey := bad.sessionKeys[0].key

			var err error
			if revoke == "reject" {
				err = r.store.Reject("bad")
			} else {
				err = r.store.Delete("bad")
			}
			if err != nil {
				t.Fatal(err)
			}
			notice := r.auth.Rotate("key " + revoke)

			for _, c := range []*Client{good, bad} {
				wait, needed, err := c.HandleReAuth(notice)
				if err != nil || !needed || wait < 0 || wait >= DefaultReAuthJitter {
					t.Fatalf("%s: HandleReAuth = %v, %v, %v", c.cfg.ID, wait, needed, err)
				}
			}
			if st, err := r.authOnce(good); err != nil || st != proto.StatusAccepted {
				t.Fatalf("good re-auth: %v, %v", st, err)
			}
			wantBad := proto.StatusRejected
			if revoke == "delete" {
				wantBad = proto.StatusPending // an unknown key again
			}
			if st, err := r.authOnce(bad); err != nil || st != wantBad {
				t.Fatalf("bad re-auth: %v, %v", st, err)
			}

			pub, err := r.auth.SealPublish("job", []byte("secret"))
			if err != nil {
				t.Fatal(err)
			}
			if _, body, err := good.OpenPublish(pub); err != nil || string(body) != "secret" {
				t.Fatalf("good cannot read: %v", err)
			}
			if _, _, err := bad.OpenPublish(pub); !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("bad minion: %v", err)
			}
			// Even ignoring the key generation, the old key does not open it.
			p, err := proto.DecodePublish(pub)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := crypto.Open(oldKey, p.Ciphertext, publishAD(p.SessionKeyID, p.Timestamp, p.MessageID)); err == nil {
				t.Fatal("the revoked minion's old session key opened a new publish")
			}
			// Its request key is gone too.
			bad.reqKey = genKey{id: 2, key: crypto.NewSymmetricKey()}
			req, _, err := bad.SealRequest("pillar", nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := r.auth.OpenRequest(req); !errors.Is(err, ErrUnknownMinion) {
				t.Fatalf("revoked minion's request: %v", err)
			}
			if r.auth.Authenticated("bad") || !r.auth.Authenticated("good") {
				t.Fatal("Authenticated wrong")
			}
		})
	}
}

// TestRotationWithoutReauth: a revoked minion that never re-authenticates
// keeps only its old key, which opens nothing new, and its stale request
// key is dropped by Rotate itself.
func TestRotationWithoutReauth(t *testing.T) {
	r := newRig(t)
	bad := r.client("bad", nil)
	r.accepted(bad)
	if err := r.store.Reject("bad"); err != nil {
		t.Fatal(err)
	}
	r.auth.Rotate("rejected")
	pub, _ := r.auth.SealPublish("job", []byte("x"))
	if _, _, err := bad.OpenPublish(pub); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v", err)
	}
	req, _, err := bad.SealRequest("return", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.auth.OpenRequest(req); !errors.Is(err, ErrUnknownMinion) {
		t.Fatalf("err = %v", err)
	}
}

// racyStore revokes a key right after deciding it is accepted, as an
// operator's `brinectl key reject` racing with the minion's auth would.
type racyStore struct {
	keys.Store
	onAccepted func(id string)
}

func (s *racyStore) Decide(id string, pub crypto.PublicKeys) (keys.State, error) {
	st, err := s.Store.Decide(id, pub)
	if st == keys.Accepted && s.onAccepted != nil {
		f := s.onAccepted
		s.onAccepted = nil
		f(id)
	}
	return st, err
}

func TestRevokedDuringAuth(t *testing.T) {
	r := newRig(t)
	c := r.client("m", nil)
	r.accepted(c)
	racy := &racyStore{Store: r.store}
	auth, err := NewAuthority(AuthorityConfig{Keys: r.master, Store: racy, Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	racy.onAccepted = func(id string) {
		if err := r.store.Reject(id); err != nil {
			t.Error(err)
		}
		auth.Rotate("rejected")
	}
	r.auth = auth
	if st, err := r.authOnce(c); err != nil || st != proto.StatusRejected {
		t.Fatalf("auth racing a reject: %v, %v", st, err)
	}
	if auth.Authenticated("m") {
		t.Fatal("a key rejected during its auth kept a request key")
	}
}
