package minion

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/brine-project/brine/pkg/job"
)

// spool keeps returns on disk from the moment a job finishes until the master
// acknowledges them, so that neither a master restart nor a minion crash loses
// a return. One file per JID, written atomically.
type spool struct {
	dir string
	mu  sync.Mutex // serialises writes and removals in dir
}

func openSpool(dir string) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("minion: return spool: %w", err)
	}
	return &spool{dir: dir}, nil
}

func (s *spool) path(jid string) string { return filepath.Join(s.dir, jid+".json") }

// validJID keeps a JID from naming a file outside the spool.
func validJID(jid string) bool {
	return jid != "" && len(jid) < 128 && !strings.ContainsAny(jid, `/\`) && jid != "." && jid != ".."
}

func (s *spool) Put(r job.Return) error {
	if !validJID(r.JID) {
		return fmt.Errorf("minion: spool: bad jid %q", r.JID)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("minion: spool: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tmp, err := os.CreateTemp(s.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("minion: spool: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path(r.JID))
	}
	if err != nil {
		return fmt.Errorf("minion: spool: %w", err)
	}
	return nil
}

func (s *spool) Has(jid string) bool {
	if !validJID(jid) {
		return false
	}
	_, err := os.Stat(s.path(jid))
	return err == nil
}

func (s *spool) Remove(jid string) {
	if !validJID(jid) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Remove(s.path(jid)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return
	}
}

// Pending returns every unacknowledged return, oldest JID first.
func (s *spool) Pending() ([]job.Return, error) {
	s.mu.Lock()
	names, err := filepath.Glob(filepath.Join(s.dir, "*.json"))
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]job.Return, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			continue // removed since the glob: acknowledged meanwhile
		}
		var r job.Return
		if json.Unmarshal(b, &r) != nil {
			// A torn file cannot come from the atomic rename; keep it aside
			// for a human rather than loop on it.
			_ = os.Rename(n, n+".bad")
			continue
		}
		out = append(out, r)
	}
	return out, nil
}
