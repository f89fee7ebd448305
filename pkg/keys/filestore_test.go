package keys

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/crypto"
)

func newPub(t testing.TB) crypto.PublicKeys {
	t.Helper()
	kp, err := crypto.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return kp.Public
}

type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) add(e Event) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }
func (r *recorder) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

func newStore(t *testing.T, auto bool) (*FileStore, *recorder) {
	t.Helper()
	rec := &recorder{}
	s, err := NewFileStore(t.TempDir(), Options{AutoAccept: auto, OnEvent: rec.add})
	if err != nil {
		t.Fatal(err)
	}
	return s, rec
}

// TestTransitions drives every transition from a given starting point and
// checks the state, the files on disk and the events.
func TestTransitions(t *testing.T) {
	type setup func(t *testing.T, s *FileStore, k, other crypto.PublicKeys)
	pending := func(t *testing.T, s *FileStore, k, _ crypto.PublicKeys) { mustDecide(t, s, "m", k) }
	accepted := func(t *testing.T, s *FileStore, k, o crypto.PublicKeys) {
		pending(t, s, k, o)
		mustOK(t, s.Accept("m"))
	}
	rejected := func(t *testing.T, s *FileStore, k, o crypto.PublicKeys) {
		pending(t, s, k, o)
		mustOK(t, s.Reject("m"))
	}
	deniedOnly := func(t *testing.T, s *FileStore, k, o crypto.PublicKeys) {
		accepted(t, s, k, o)
		mustDecide(t, s, "m", o)
		// Leave only the denied key: remove the accepted file by hand.
		mustOK(t, os.Remove(filepath.Join(s.Dir(), "minions", "m")))
		mustOK(t, s.Sync())
	}
	none := func(*testing.T, *FileStore, crypto.PublicKeys, crypto.PublicKeys) {}

	tests := []struct {
		name    string
		setup   setup
		op      func(s *FileStore, k, other crypto.PublicKeys) (State, error)
		want    State // state returned by Decide, or Get's state after the op
		wantErr error
		events  []Event
		dirs    []string // sub-dirs holding a file for m afterwards
	}{
		{"unknown key becomes pending", none, decide(false), Pending, nil,
			[]Event{{ID: "m", To: Pending}}, []string{"minions_pre"}},
		{"pending same key stays pending", pending, decide(false), Pending, nil, nil, []string{"minions_pre"}},
		{"pending other key is denied", pending, decide(true), Denied, nil,
			[]Event{{ID: "m", To: Denied}}, []string{"minions_denied", "minions_pre"}},
		{"accept pending", pending, op((*FileStore).Accept), Accepted, nil,
			[]Event{{ID: "m", From: Pending, To: Accepted}}, []string{"minions"}},
		{"accept accepted is a no-op", accepted, op((*FileStore).Accept), Accepted, nil, nil, []string{"minions"}},
		{"accepted same key", accepted, decide(false), Accepted, nil, nil, []string{"minions"}},
		{"accepted other key is denied, accepted kept", accepted, decide(true), Denied, nil,
			[]Event{{ID: "m", To: Denied}}, []string{"minions", "minions_denied"}},
		{"reject pending", pending, op((*FileStore).Reject), Rejected, nil,
			[]Event{{ID: "m", From: Pending, To: Rejected}}, []string{"minions_rejected"}},
		{"reject accepted", accepted, op((*FileStore).Reject), Rejected, nil,
			[]Event{{ID: "m", From: Accepted, To: Rejected}}, []string{"minions_rejected"}},
		{"rejected same key stays rejected", rejected, decide(false), Rejected, nil, nil, []string{"minions_rejected"}},
		{"rejected other key is denied", rejected, decide(true), Denied, nil,
			[]Event{{ID: "m", To: Denied}}, []string{"minions_denied", "minions_rejected"}},
		{"accept rejected", rejected, op((*FileStore).Accept), Accepted, nil,
			[]Event{{ID: "m", From: Rejected, To: Accepted}}, []string{"minions"}},
		{"delete accepted", accepted, op((*FileStore).Delete), "", nil,
			[]Event{{ID: "m", From: Accepted}}, nil},
		{"delete pending", pending, op((*FileStore).Delete), "", nil,
			[]Event{{ID: "m", From: Pending}}, nil},
		{"accept the denied key when it is the only one", deniedOnly, op((*FileStore).Accept), Accepted, nil,
			[]Event{{ID: "m", To: Accepted}, {ID: "m", From: Denied}}, []string{"minions"}},
		{"reject the denied key when it is the only one", deniedOnly, op((*FileStore).Reject), Rejected, nil,
			[]Event{{ID: "m", To: Rejected}, {ID: "m", From: Denied}}, []string{"minions_rejected"}},
		{"delete removes the denied key too", deniedOnly, op((*FileStore).Delete), "", nil,
			[]Event{{ID: "m", From: Denied}}, nil},
		{"accept unknown", none, op((*FileStore).Accept), "", ErrNotFound, nil, nil},
		{"reject unknown", none, op((*FileStore).Reject), "", ErrNotFound, nil, nil},
		{"delete unknown", none, op((*FileStore).Delete), "", ErrNotFound, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rec := newStore(t, false)
			k, other := newPub(t), newPub(t)
			tt.setup(t, s, k, other)
			rec.take()
			got, err := tt.op(s, k, other)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("state = %q, want %q", got, tt.want)
			}
			if ev := rec.take(); !reflect.DeepEqual(ev, tt.events) {
				t.Errorf("events = %+v, want %+v", ev, tt.events)
			}
			if d := dirsOf(t, s, "m"); !reflect.DeepEqual(d, tt.dirs) {
				t.Errorf("files in %v, want %v", d, tt.dirs)
			}
		})
	}
}

func decide(otherKey bool) func(s *FileStore, k, other crypto.PublicKeys) (State, error) {
	return func(s *FileStore, k, other crypto.PublicKeys) (State, error) {
		if otherKey {
			return s.Decide("m", other)
		}
		return s.Decide("m", k)
	}
}

// op applies a state change and returns m's state afterwards ("" if gone).
func op(f func(*FileStore, string) error) func(s *FileStore, k, other crypto.PublicKeys) (State, error) {
	return func(s *FileStore, _, _ crypto.PublicKeys) (State, error) {
		if err := f(s, "m"); err != nil {
			return "", err
		}
		k, err := s.Get("m")
		if errors.Is(err, ErrNotFound) {
			return "", nil
		}
		return k.State, err
	}
}

func dirsOf(t *testing.T, s *FileStore, id string) []string {
	var out []string
	for _, sub := range []string{"minions", "minions_denied", "minions_pre", "minions_rejected"} {
		if _, err := os.Stat(filepath.Join(s.Dir(), sub, id)); err == nil {
			out = append(out, sub)
		}
	}
	return out
}

func mustDecide(t *testing.T, s *FileStore, id string, k crypto.PublicKeys) {
	t.Helper()
	if _, err := s.Decide(id, k); err != nil {
		t.Fatal(err)
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestAutoAccept(t *testing.T) {
	s, rec := newStore(t, true)
	st, err := s.Decide("web", newPub(t))
	if err != nil || st != Accepted {
		t.Fatalf("Decide = %v, %v", st, err)
	}
	if ev := rec.take(); !reflect.DeepEqual(ev, []Event{{ID: "web", To: Accepted}}) {
		t.Fatalf("events %+v", ev)
	}
	// Auto-accept never replaces a known key.
	if st, _ := s.Decide("web", newPub(t)); st != Denied {
		t.Fatalf("other key under auto-accept: %v", st)
	}
}

// TestOtherProcess: a second store on the same directory stands for
// brinectl; the master's store sees its changes on Decide and through Sync.
func TestOtherProcess(t *testing.T) {
	dir := t.TempDir()
	rec := &recorder{}
	master, err := NewFileStore(dir, Options{OnEvent: rec.add})
	mustOK(t, err)
	ctl, err := NewFileStore(dir, Options{})
	mustOK(t, err)
	k := newPub(t)
	mustDecide(t, master, "m", k)
	rec.take()

	mustOK(t, ctl.Accept("m"))
	if st, err := master.Decide("m", k); err != nil || st != Accepted {
		t.Fatalf("master sees %v, %v after brinectl accept", st, err)
	}
	if ev := rec.take(); !reflect.DeepEqual(ev, []Event{{ID: "m", From: Pending, To: Accepted}}) {
		t.Fatalf("events %+v", ev)
	}
	mustOK(t, ctl.Delete("m"))
	mustOK(t, master.Sync())
	if ev := rec.take(); !reflect.DeepEqual(ev, []Event{{ID: "m", From: Accepted}}) {
		t.Fatalf("events after external delete %+v", ev)
	}
	mustOK(t, master.Sync())
	if ev := rec.take(); len(ev) != 0 {
		t.Fatalf("second sync repeated events: %+v", ev)
	}
}

func TestListAndGet(t *testing.T) {
	s, _ := newStore(t, false)
	a, b := newPub(t), newPub(t)
	mustDecide(t, s, "b", a)
	mustDecide(t, s, "a", a)
	mustOK(t, s.Accept("a"))
	mustDecide(t, s, "a", b)
	list, err := s.List()
	mustOK(t, err)
	var got []string
	for _, k := range list {
		got = append(got, k.ID+"/"+string(k.State))
	}
	want := []string{"a/accepted", "a/denied", "b/pending"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	k, err := s.Get("a")
	mustOK(t, err)
	if k.State != Accepted || !k.Public.Equal(a) || k.Fingerprint() != a.Fingerprint() {
		t.Fatalf("Get = %+v", k)
	}
}

func TestInvalidIDs(t *testing.T) {
	s, _ := newStore(t, false)
	for _, id := range []string{"", ".hidden", "../x", "a/b", "a b", "tab\t", string(make([]byte, 256))} {
		t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
			if _, err := s.Decide(id, newPub(t)); !errors.Is(err, ErrInvalidID) {
				t.Fatalf("Decide err = %v", err)
			}
			if err := s.Accept(id); !errors.Is(err, ErrInvalidID) {
				t.Fatalf("Accept err = %v", err)
			}
		})
	}
}

// TestConcurrentDecide: many keys racing for one id leave exactly one
// primary key; all others are denied.
func TestConcurrentDecide(t *testing.T) {
	s, _ := newStore(t, false)
	const n = 16
	results := make([]State, n)
	pubs := make([]crypto.PublicKeys, n)
	for i := range pubs {
		pubs[i] = newPub(t)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := s.Decide("race", pubs[i])
			if err != nil {
				t.Error(err)
			}
			results[i] = st
		}()
	}
	wg.Wait()
	count := map[State]int{}
	for _, st := range results {
		count[st]++
	}
	if count[Pending] != 1 || count[Denied] != n-1 {
		t.Fatalf("results %v", count)
	}
}

func TestEventTag(t *testing.T) {
	if tag := (Event{ID: "m", To: Pending}).Tag(); tag != "key/pending" {
		t.Error(tag)
	}
	if tag := (Event{ID: "m", From: Accepted}).Tag(); tag != "key/delete" {
		t.Error(tag)
	}
}

// TestWatch: Watch reports another process's change without any call into
// the store.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	events := make(chan Event, 4)
	master, err := NewFileStore(dir, Options{OnEvent: func(e Event) { events <- e }})
	mustOK(t, err)
	ctl, err := NewFileStore(dir, Options{})
	mustOK(t, err)
	mustDecide(t, ctl, "m", newPub(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { master.Watch(ctx, 10*time.Millisecond); close(done) }()
	select {
	case e := <-events:
		if e != (Event{ID: "m", To: Pending}) {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event from Watch")
	}
	cancel()
	<-done
}
