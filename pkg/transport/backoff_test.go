package transport

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	cases := []struct {
		name   string
		b      Backoff
		wantHi []time.Duration // upper bound of attempt i; lower is hi*(1-jitter)
		jitter float64
	}{
		{"defaults", Backoff{}, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second}, 0.5},
		{"capped", Backoff{Min: time.Second, Max: 3 * time.Second, Jitter: 0.2},
			[]time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second, 3 * time.Second}, 0.2},
		{"max below min", Backoff{Min: time.Second, Max: time.Millisecond, Jitter: 1},
			[]time.Duration{time.Second, time.Second}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			b.rnd = rand.New(rand.NewPCG(1, 2))
			for round := 0; round < 2; round++ { // the second round checks Reset
				for i, hi := range tc.wantHi {
					lo := time.Duration(float64(hi) * (1 - tc.jitter))
					if d := b.Next(); d < lo || d > hi {
						t.Fatalf("round %d attempt %d: %v not in [%v, %v]", round, i, d, lo, hi)
					}
				}
				b.Reset()
			}
		})
	}
}

func TestBackoffJitterSpreads(t *testing.T) {
	// 1000 fresh minions after the same failure must not pick one delay.
	seen := make(map[time.Duration]bool)
	lo, hi := time.Hour, time.Duration(0)
	for range 1000 {
		var b Backoff
		d := b.Next()
		seen[d] = true
		lo, hi = min(lo, d), max(hi, d)
	}
	if len(seen) < 900 || hi-lo < 200*time.Millisecond {
		t.Fatalf("%d distinct delays spanning %v: not spread", len(seen), hi-lo)
	}
}

func TestBackoffWaitHonoursContext(t *testing.T) {
	b := Backoff{Min: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
