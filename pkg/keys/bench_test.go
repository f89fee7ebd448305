package keys

import "testing"

// BenchmarkDecideAccepted: the per-auth cost for a known, accepted minion.
func BenchmarkDecideAccepted(b *testing.B) {
	s, err := NewFileStore(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	k := newPub(b)
	if _, err := s.Decide("m", k); err != nil {
		b.Fatal(err)
	}
	if err := s.Accept("m"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if st, err := s.Decide("m", k); err != nil || st != Accepted {
			b.Fatal(st, err)
		}
	}
}
