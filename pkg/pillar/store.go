package pillar

import "sync"

// Store keeps each minion's last compiled pillar on the master, for pillar
// targeting (-I, I@) without recompiling. It is safe for concurrent use.
type Store struct {
	mu sync.RWMutex // guards m
	m  map[string]map[string]any
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{m: map[string]map[string]any{}} }

// Set records id's pillar (the map is kept, not copied: do not modify it).
func (s *Store) Set(id string, p map[string]any) {
	s.mu.Lock()
	s.m[id] = p
	s.mu.Unlock()
}

// Get returns id's last pillar.
func (s *Store) Get(id string) (map[string]any, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.m[id]
	return p, ok
}

// Delete forgets id (its key was deleted or rejected).
func (s *Store) Delete(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}
