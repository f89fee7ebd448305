package fleet_test

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/fleet"
	"github.com/brine-project/brine/pkg/job"
	"github.com/brine-project/brine/pkg/master"
	"github.com/brine-project/brine/pkg/session"
)

// dropped is how many publishes a minion received but could not open for
// want of the right session key.
func dropped(s session.Stats) uint64 { return s.UnknownKey + s.Undecryptable }

// TestRejectedAndDeletedMinionCannotRead rejects one minion's key and
// deletes another's (auto_accept off, so the deleted one comes back only as
// pending). The master rotates the session key; from then on neither runs a
// job nor can open a publish, though both stay connected and receive the
// bytes, while the accepted minions get the new key and keep working.
func TestRejectedAndDeletedMinionCannotRead(t *testing.T) {
	t.Parallel()
	f := fleet.Start(t, 5, fleet.Options{Dir: memDir()})
	ctx := deadline(t, 60*time.Second)
	ms := f.Members()
	accepted := ms[:3]
	revocations := []struct {
		name   string
		m      *fleet.Member
		revoke func(context.Context, string) error
	}{
		{"rejected", ms[3], func(ctx context.Context, id string) error { _, err := f.API().RejectKey(ctx, id); return err }},
		{"deleted", ms[4], f.API().DeleteKey},
	}
	var revokedMs []*fleet.Member
	for _, r := range revocations {
		revokedMs = append(revokedMs, r.m)
	}

	d, err := ping(ctx, f, "*")
	if err != nil {
		t.Fatal(err)
	}
	checkAllReturned(t, d, ms)

	var (
		mu   sync.Mutex // guards hits
		hits = map[string]int{}
	)
	f.OnJob(func(m *fleet.Member, _ job.Job) {
		mu.Lock()
		hits[m.ID]++
		mu.Unlock()
	})
	revoked := time.Now()
	for _, r := range revocations {
		if err := r.revoke(ctx, r.m.ID); err != nil {
			t.Fatalf("%s %s: %v", r.name, r.m.ID, err)
		}
	}
	hub := f.Master().Hub()
	before := map[string]uint64{}
	for _, m := range revokedMs {
		if hub.SubscriberCount(master.MinionTopic(m.ID)) == 0 {
			t.Fatalf("%s is not subscribed: the test needs it to receive the publishes", m.ID)
		}
		before[m.ID] = dropped(m.Minion.Stats())
	}
	// The rotation is done when the key change returns: a job published
	// now is unreadable even by a revoked minion that still holds the old
	// session key (it has not acted on the re-auth notice yet).
	jobs := 1
	d, err = ping(ctx, f, "*")
	if err != nil {
		t.Fatal(err)
	}
	checkAllReturned(t, d, accepted)

	// Then the notice makes the revoked minions say hello again, and the
	// master refuses them (the deleted key is back as pending only).
	for _, m := range revokedMs {
		at, err := m.WaitRefused(ctx, revoked)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s refused %v after the revocation", m.ID, at.Sub(revoked).Round(time.Millisecond))
	}
	for _, m := range accepted {
		at, err := m.WaitSessionKey(ctx, revoked)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s got the new session key %v after the revocation", m.ID, at.Sub(revoked).Round(time.Millisecond))
	}
	for range 2 {
		d, err := ping(ctx, f, "*")
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Expected) != len(accepted) {
			t.Fatalf("job expected %v, want only the accepted minions", d.Expected)
		}
		checkAllReturned(t, d, accepted)
		jobs++
	}
	mu.Lock()
	ran := maps.Clone(hits)
	mu.Unlock()
	for _, m := range accepted {
		if ran[m.ID] != jobs {
			t.Fatalf("%s ran %d jobs, want %d", m.ID, ran[m.ID], jobs)
		}
	}
	// Each revoked minion received every publish and dropped it.
	for _, r := range revocations {
		t.Run(r.name, func(t *testing.T) {
			m := r.m
			if ran[m.ID] != 0 {
				t.Fatalf("%s ran %d jobs after its key was %s", m.ID, ran[m.ID], r.name)
			}
			if err := eventually(ctx, func() bool { return dropped(m.Minion.Stats()) >= before[m.ID]+uint64(jobs) }); err != nil {
				t.Fatalf("%s counted %d undecryptable/unknown-key drops, want %d: %v",
					m.ID, dropped(m.Minion.Stats())-before[m.ID], jobs, err)
			}
			t.Logf("%s: %+v", m.ID, m.Minion.Stats())
		})
	}
}
