package transport

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff computes capped, jittered exponential delays between connection
// attempts. The zero value uses the defaults below. It is not safe for
// concurrent use: each dial loop owns one.
type Backoff struct {
	// Min is the base delay before the first retry (default 500ms).
	Min time.Duration
	// Max caps the delay (default 30s).
	Max time.Duration
	// Jitter is the fraction of each delay that is randomised, in [0, 1]
	// (default 0.5): a delay d becomes uniform in [d*(1-Jitter), d]. It is
	// what spreads the reconnects of a fleet after a master restart.
	Jitter float64

	attempt int
	// rnd, when set, replaces the global source (tests use a seeded one).
	rnd *rand.Rand
}

func (b *Backoff) params() (lo, hi time.Duration, jitter float64) {
	lo, hi, jitter = b.Min, b.Max, b.Jitter
	if lo <= 0 {
		lo = 500 * time.Millisecond
	}
	if hi <= 0 {
		hi = 30 * time.Second
	}
	if hi < lo {
		hi = lo
	}
	if jitter <= 0 || jitter > 1 {
		jitter = 0.5
	}
	return lo, hi, jitter
}

// Next returns the delay before the next attempt and advances the attempt
// counter.
func (b *Backoff) Next() time.Duration {
	lo, hi, jitter := b.params()
	d := lo
	for i := 0; i < b.attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	b.attempt++
	span := time.Duration(float64(d) * jitter)
	if span <= 0 {
		return d
	}
	var r int64
	if b.rnd != nil {
		r = b.rnd.Int64N(int64(span) + 1)
	} else {
		r = rand.Int64N(int64(span) + 1)
	}
	return d - span + time.Duration(r)
}

// Reset starts the sequence over; call it once a session is established.
func (b *Backoff) Reset() { b.attempt = 0 }

// Wait sleeps for Next() or until ctx is done, whichever comes first.
func (b *Backoff) Wait(ctx context.Context) error {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
