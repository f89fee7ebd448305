package jid

import (
	"testing"
	"time"
)

func TestNextIsOrderedAndUnique(t *testing.T) {
	g := NewGenerator("master-a")
	now := time.Date(2026, 11, 22, 1, 2, 3, 456789000, time.UTC)
	prev := ""
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		// The clock stands still, then steps back: JIDs must still grow.
		at := now
		if i > 500 {
			at = now.Add(-time.Second)
		}
		j := g.Next(at)
		if j <= prev || seen[j] {
			t.Fatalf("jid %d: %q not after %q", i, j, prev)
		}
		seen[j], prev = true, j
	}
	first := NewGenerator("master-a").Next(now)
	if first != "20261122010203456789_"+g.suffix {
		t.Fatalf("format: %q", first)
	}
	if NewGenerator("master-b").Next(now) == first {
		t.Fatal("two masters made the same jid")
	}
	got, err := Time(first)
	if err != nil || !got.Equal(now) {
		t.Fatalf("Time(%q) = %v, %v", first, got, err)
	}
	if _, err := Time("2026"); err == nil {
		t.Fatal("short jid accepted")
	}
}
