package fleet_test

import (
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/fleet"
)

// TestMasterRestartFleet restarts the master under 100 connected minions
// (same ports, same data dir): all must be back and answering a test.ping
// through the API within 10s, their reconnects spread in time by the
// minions' jittered backoff rather than landing as one herd.
func TestMasterRestartFleet(t *testing.T) {
	const n = 100
	f := fleet.Start(t, n, fleet.Options{AutoAccept: true, Dir: memDir()})
	ctx := deadline(t, 60*time.Second)
	d, err := ping(ctx, f, "*")
	if err != nil {
		t.Fatal(err)
	}
	checkAllReturned(t, d, f.Members())

	stopping := time.Now()
	if err := f.StopMaster(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if err := f.StartMaster(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now() // reconnect times count from here: the new master listens
	t.Logf("master stopped in %v, listening again %v later",
		stopped.Sub(stopping).Round(time.Millisecond), restarted.Sub(stopped).Round(time.Millisecond))

	back := deadline(t, 10*time.Second)
	if err := f.WaitReady(back, restarted); err != nil {
		t.Fatalf("not all minions back within 10s of the restart: %v", err)
	}
	d, err = ping(back, f, "*")
	if err != nil {
		t.Fatalf("ping after restart (within 10s): %v", err)
	}
	checkAllReturned(t, d, f.Members())
	t.Logf("all %d minions back and answering %v after the restart", n, time.Since(restarted).Round(time.Millisecond))

	var times []time.Duration
	for _, m := range f.Members() {
		at, err := m.WaitAuth(ctx, restarted)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, at.Sub(restarted))
	}
	s := summarise(times)
	t.Logf("re-authentication after restart, %d minions: %v", n, s)
	// A herd (no jitter) lands within a few milliseconds; the minions'
	// backoff jitter spreads them over a hundred or more.
	if s.max-s.min < 50*time.Millisecond || s.stddev < 10*time.Millisecond {
		t.Fatalf("reconnects not spread: %v", s)
	}
}
