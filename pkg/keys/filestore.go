package keys

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/brine-project/brine/pkg/crypto"
)

// Options configure a FileStore.
type Options struct {
	// AutoAccept accepts unknown keys at once instead of leaving them pending.
	AutoAccept bool
	// OnEvent, if set, is called for every change, in order, outside the
	// store's lock; it may read the store but must not change it
	// synchronously (that would wait for its own delivery).
	OnEvent func(Event)
	// Logger; nil discards.
	Logger *slog.Logger
}

// Sub-directories of a FileStore, as in Salt's pki dir.
var stateDirs = map[State]string{
	Accepted: "minions",
	Pending:  "minions_pre",
	Rejected: "minions_rejected",
	Denied:   "minions_denied",
}

// primaryStates are the states of an id's main key, in lookup order.
var primaryStates = []State{Accepted, Pending, Rejected}

// FileStore keeps one file per minion key (crypto.MarshalPublicKeys) in
// minions/, minions_pre/, minions_rejected/ and minions_denied/. Changes are
// serialized in-process by a mutex and across processes by flock on
// <dir>/.lock; files are replaced by rename, so readers never see a partial
// key. Every read goes to disk, so another process's change counts at once.
type FileStore struct {
	dir  string
	opts Options
	log  *slog.Logger

	mu   sync.Mutex        // guards seen and serializes mutations
	seen map[string]status // last observed state per id, for events

	emitMu sync.Mutex // held while delivering events, keeps them in order
}

// status is what the store last saw for one id.
type status struct {
	primary State // "" when none
	denied  bool
}

// NewFileStore opens (creating if needed, mode 0700) a key store in dir.
func NewFileStore(dir string, opts Options) (*FileStore, error) {
	for _, sub := range stateDirs {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &FileStore{dir: dir, opts: opts, log: log}
	snap, err := s.scan()
	if err != nil {
		return nil, err
	}
	s.seen = snap
	return s, nil
}

func (s *FileStore) path(st State, id string) string {
	return filepath.Join(s.dir, stateDirs[st], id)
}

func (s *FileStore) read(st State, id string) (crypto.PublicKeys, bool, error) {
	data, err := os.ReadFile(s.path(st, id))
	if errors.Is(err, fs.ErrNotExist) {
		return crypto.PublicKeys{}, false, nil
	}
	if err != nil {
		return crypto.PublicKeys{}, false, fmt.Errorf("keys: %w", err)
	}
	pub, err := crypto.ParsePublicKeys(data)
	if err != nil {
		return crypto.PublicKeys{}, false, fmt.Errorf("keys: %s: %w", s.path(st, id), err)
	}
	return pub, true, nil
}

// lookup reads id's primary key and whether it has a denied key.
func (s *FileStore) lookup(id string) (primary Key, hasPrimary bool, denied Key, hasDenied bool, err error) {
	for _, st := range primaryStates {
		pub, ok, err := s.read(st, id)
		if err != nil {
			return Key{}, false, Key{}, false, err
		}
		if ok {
			primary, hasPrimary = Key{ID: id, State: st, Public: pub}, true
			break
		}
	}
	pub, ok, err := s.read(Denied, id)
	if err != nil {
		return Key{}, false, Key{}, false, err
	}
	if ok {
		denied, hasDenied = Key{ID: id, State: Denied, Public: pub}, true
	}
	return primary, hasPrimary, denied, hasDenied, nil
}

// Get implements Store.
func (s *FileStore) Get(id string) (Key, error) {
	if err := ValidID(id); err != nil {
		return Key{}, err
	}
	p, hasP, d, hasD, err := s.lookup(id)
	switch {
	case err != nil:
		return Key{}, err
	case hasP:
		return p, nil
	case hasD:
		return d, nil
	}
	return Key{}, fmt.Errorf("%w: %s", ErrNotFound, id)
}

// List implements Store.
func (s *FileStore) List() ([]Key, error) {
	var out []Key
	for st, sub := range stateDirs {
		entries, err := os.ReadDir(filepath.Join(s.dir, sub))
		if err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || ValidID(e.Name()) != nil {
				continue // temporary files, strays
			}
			pub, ok, err := s.read(st, e.Name())
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, Key{ID: e.Name(), State: st, Public: pub})
			}
		}
	}
	order := map[State]int{Accepted: 0, Pending: 1, Rejected: 2, Denied: 3}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return order[out[i].State] < order[out[j].State]
	})
	return out, nil
}

// Accept implements Store.
func (s *FileStore) Accept(id string) error {
	return s.mutate(id, func(p Key, hasP bool, _ Key, hasD bool) error {
		switch {
		case hasP && p.State == Accepted:
			return nil
		case hasP:
			return s.move(p.State, Accepted, id)
		case hasD:
			return s.move(Denied, Accepted, id)
		}
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	})
}

// Reject implements Store.
func (s *FileStore) Reject(id string) error {
	return s.mutate(id, func(p Key, hasP bool, _ Key, hasD bool) error {
		switch {
		case hasP && p.State == Rejected:
			return nil
		case hasP:
			return s.move(p.State, Rejected, id)
		case hasD:
			return s.move(Denied, Rejected, id)
		}
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	})
}

// Delete implements Store.
func (s *FileStore) Delete(id string) error {
	return s.mutate(id, func(_ Key, hasP bool, _ Key, hasD bool) error {
		if !hasP && !hasD {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		for st := range stateDirs {
			if err := os.Remove(s.path(st, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("keys: %w", err)
			}
		}
		return nil
	})
}

// Decide implements Store.
func (s *FileStore) Decide(id string, pub crypto.PublicKeys) (State, error) {
	if err := ValidID(id); err != nil {
		return "", err
	}
	// Fast path, the common case of a known minion re-authenticating:
	// nothing to write and nothing changed since the store last looked, so
	// neither lock nor event is needed.
	if p, hasP, _, _, err := s.lookup(id); err == nil && hasP && p.Public.Equal(pub) {
		s.mu.Lock()
		unchanged := s.seen[id].primary == p.State
		s.mu.Unlock()
		if unchanged {
			return p.State, nil
		}
	}
	var result State
	err := s.mutate(id, func(p Key, hasP bool, d Key, hasD bool) error {
		if hasP {
			if p.Public.Equal(pub) {
				result = p.State
				return nil
			}
			// A different key under a known id: keep it aside, never replace.
			result = Denied
			if hasD && d.Public.Equal(pub) {
				return nil
			}
			return s.write(Denied, id, pub)
		}
		result = Pending
		if s.opts.AutoAccept {
			result = Accepted
		}
		return s.write(result, id, pub)
	})
	if err != nil {
		return "", err
	}
	return result, nil
}

// mutate runs fn on id's current keys under both locks, then reports what
// changed.
func (s *FileStore) mutate(id string, fn func(p Key, hasP bool, d Key, hasD bool) error) error {
	if err := ValidID(id); err != nil {
		return err
	}
	s.mu.Lock()
	unlock, err := s.flock()
	if err != nil {
		s.mu.Unlock()
		return err
	}
	p, hasP, d, hasD, err := s.lookup(id)
	if err == nil {
		err = fn(p, hasP, d, hasD)
	}
	unlock()
	events, serr := s.syncID(id)
	s.deliver(events) // unlocks s.mu
	if err != nil {
		return err
	}
	return serr
}

// flock takes the cross-process lock on <dir>/.lock.
func (s *FileStore) flock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keys: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("keys: lock: %w", err)
	}
	return func() { f.Close() }, nil // closing releases the flock
}

func (s *FileStore) write(st State, id string, pub crypto.PublicKeys) error {
	if err := crypto.WriteFileAtomic(s.path(st, id), crypto.MarshalPublicKeys(pub), 0o600); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return nil
}

func (s *FileStore) move(from, to State, id string) error {
	if err := os.Rename(s.path(from, id), s.path(to, id)); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	s.log.Info("minion key state changed", slog.String("minion", id),
		slog.String("from", string(from)), slog.String("to", string(to)))
	return nil
}

// syncID re-reads id's state and returns the events since it was last seen.
// Caller holds s.mu.
func (s *FileStore) syncID(id string) ([]Event, error) {
	p, hasP, _, hasD, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	now := status{denied: hasD}
	if hasP {
		now.primary = p.State
	}
	events := diff(id, s.seen[id], now)
	s.record(id, now)
	return events, nil
}

func (s *FileStore) record(id string, st status) {
	if st == (status{}) {
		delete(s.seen, id)
	} else {
		s.seen[id] = st
	}
}

func diff(id string, old, now status) []Event {
	var ev []Event
	if old.primary != now.primary {
		ev = append(ev, Event{ID: id, From: old.primary, To: now.primary})
	}
	if old.denied != now.denied {
		if now.denied {
			ev = append(ev, Event{ID: id, To: Denied})
		} else {
			ev = append(ev, Event{ID: id, From: Denied})
		}
	}
	return ev
}

// deliver hands events to OnEvent in order. Caller holds s.mu, which
// deliver releases once it holds emitMu.
func (s *FileStore) deliver(events []Event) {
	s.emitMu.Lock()
	s.mu.Unlock()
	defer s.emitMu.Unlock()
	if s.opts.OnEvent == nil {
		return
	}
	for _, e := range events {
		s.opts.OnEvent(e)
	}
}

// scan reads the state of every id from the directory listings.
func (s *FileStore) scan() (map[string]status, error) {
	snap := make(map[string]status)
	for st, sub := range stateDirs {
		entries, err := os.ReadDir(filepath.Join(s.dir, sub))
		if err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if !e.Type().IsRegular() || ValidID(name) != nil {
				continue
			}
			cur := snap[name]
			if st == Denied {
				cur.denied = true
			} else if cur.primary == "" || rank(st) < rank(cur.primary) {
				cur.primary = st
			}
			snap[name] = cur
		}
	}
	return snap, nil
}

func rank(st State) int {
	for i, p := range primaryStates {
		if p == st {
			return i
		}
	}
	return len(primaryStates)
}

// Sync compares the directories with what the store last saw and reports
// the differences as events: how the master learns that brinectl, another
// process, accepted, rejected or deleted a key.
func (s *FileStore) Sync() error {
	s.mu.Lock()
	snap, err := s.scan()
	if err != nil {
		s.mu.Unlock()
		return err
	}
	ids := make(map[string]bool, len(snap)+len(s.seen))
	for id := range snap {
		ids[id] = true
	}
	for id := range s.seen {
		ids[id] = true
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	var events []Event
	for _, id := range sorted {
		events = append(events, diff(id, s.seen[id], snap[id])...)
	}
	s.seen = snap
	s.deliver(events)
	return nil
}

// Watch calls Sync every interval until ctx ends. Errors are logged once
// per distinct message, not every tick.
func (s *FileStore) Watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var last string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.Sync(); err != nil {
			if msg := err.Error(); msg != last {
				s.log.Warn("key store sync failed", slog.Any("err", err))
				last = msg
			}
		} else {
			last = ""
		}
	}
}

// Dir returns the store's directory.
func (s *FileStore) Dir() string { return s.dir }

// String describes the store for logs.
func (s *FileStore) String() string { return "file key store " + strings.TrimSuffix(s.dir, "/") }
