// Package jid makes job IDs: time-ordered like Salt's (YYYYMMDDhhmmssffffff,
// UTC), then a suffix unique to the master that made them, so that several
// masters sharing one job store never collide and a plain string sort is a
// sort by submission time.
package jid

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// Generator makes JIDs for one master. It is safe for concurrent use.
type Generator struct {
	suffix string
	mu     sync.Mutex // guards last
	last   time.Time
}

// NewGenerator returns a generator whose JIDs end in a short hash of masterID.
func NewGenerator(masterID string) *Generator {
	h := sha256.Sum256([]byte(masterID))
	return &Generator{suffix: hex.EncodeToString(h[:3])}
}

// Next returns a JID strictly greater than every JID this generator made
// before, even if the clock stands still or steps back.
func (g *Generator) Next(now time.Time) string {
	now = now.UTC().Truncate(time.Microsecond)
	g.mu.Lock()
	if !now.After(g.last) {
		now = g.last.Add(time.Microsecond)
	}
	g.last = now
	g.mu.Unlock()
	return fmt.Sprintf("%s%06d_%s", now.Format("20060102150405"), now.Nanosecond()/1000, g.suffix)
}

// Time returns the submission time encoded in a JID.
func Time(j string) (time.Time, error) {
	if len(j) < 20 {
		return time.Time{}, fmt.Errorf("jid: %q is too short", j)
	}
	t, err := time.Parse("20060102150405.000000", j[:14]+"."+j[14:20])
	if err != nil {
		return time.Time{}, fmt.Errorf("jid: %q: %w", j, err)
	}
	return t, nil
}
