package fleet_test

import (
	"context"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/fleet"
	"github.com/brine-project/brine/pkg/job"
)

// deadline is a context ended after d or at the end of the test.
func deadline(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// memDir is a tmpfs for the fleet's data dirs when the machine has one:
// these tests are about transport and keys, and a thousand in-process
// minions fsyncing their return spools to one disk would measure the disk.
func memDir() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "brine-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return ""
}

// eventually polls cond until it holds or ctx is done: for conditions
// nothing signals.
func eventually(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// ping runs test.ping on tgt through the API, waiting for completion.
func ping(ctx context.Context, f *fleet.Fleet, tgt string) (*types.JobDetail, error) {
	return f.API().SubmitJob(ctx, types.JobRequest{Tgt: tgt, Fun: "test.ping", Wait: true, Timeout: 30})
}

// checkAllReturned fails unless every member in want returned true and
// nobody else returned.
func checkAllReturned(tb testing.TB, d *types.JobDetail, want []*fleet.Member) {
	tb.Helper()
	if d.Status != types.JobComplete {
		tb.Fatalf("job %s is %s", d.JID, d.Status)
	}
	if len(d.NoReturn) > 0 {
		tb.Fatalf("job %s: %d minions did not return, first %+v", d.JID, len(d.NoReturn), d.NoReturn[0])
	}
	if len(d.Returns) != len(want) {
		tb.Fatalf("job %s: %d returns, want %d", d.JID, len(d.Returns), len(want))
	}
	for _, m := range want {
		r, ok := d.Returns[m.ID]
		if !ok {
			tb.Fatalf("job %s: no return from %s", d.JID, m.ID)
		}
		if b, ok := r.Return.(bool); !r.Success || !ok || !b {
			tb.Fatalf("job %s: %s returned %+v", d.JID, m.ID, r)
		}
	}
}

// spread summarises durations.
type spread struct {
	min, median, p99, max, stddev time.Duration
}

func summarise(ds []time.Duration) spread {
	if len(ds) == 0 {
		return spread{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum float64
	for _, d := range s {
		sum += float64(d)
	}
	mean := sum / float64(len(s))
	var sq float64
	for _, d := range s {
		sq += (float64(d) - mean) * (float64(d) - mean)
	}
	p99 := s[min(len(s)-1, int(math.Ceil(0.99*float64(len(s))))-1)]
	return spread{min: s[0], median: s[len(s)/2], p99: p99, max: s[len(s)-1],
		stddev: time.Duration(math.Sqrt(sq / float64(len(s))))}
}

func (s spread) String() string {
	r := func(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
	return "min " + r(s.min).String() + ", median " + r(s.median).String() + ", p99 " + r(s.p99).String() +
		", max " + r(s.max).String() + ", stddev " + r(s.stddev).String()
}

// reach counts the minions a job reached (their job hook fired).
type reach struct {
	mu    sync.Mutex // guards count, done
	want  int
	count map[string]int // jid -> minions reached
	done  map[string]chan struct{}
	start map[string]time.Time
	took  map[string]time.Duration
}

func newReach(want int) *reach {
	return &reach{want: want, count: map[string]int{}, done: map[string]chan struct{}{},
		start: map[string]time.Time{}, took: map[string]time.Duration{}}
}

// chanLocked returns jid's completion channel.
func (r *reach) chanLocked(jid string) chan struct{} {
	ch, ok := r.done[jid]
	if !ok {
		ch = make(chan struct{})
		r.done[jid] = ch
	}
	return ch
}

func (r *reach) hit(_ *fleet.Member, j job.Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count[j.JID]++
	if r.count[j.JID] == r.want {
		close(r.chanLocked(j.JID))
		r.took[j.JID] = time.Since(r.start[j.JID])
	}
}

// submit starts a job without waiting, noting when it was submitted.
func (r *reach) submit(ctx context.Context, f *fleet.Fleet, req types.JobRequest) (string, error) {
	start := time.Now()
	d, err := f.API().SubmitJob(ctx, req)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.start[d.JID] = start
	if r.count[d.JID] >= r.want { // reached all before the API answered
		r.took[d.JID] = time.Since(start)
	}
	r.mu.Unlock()
	return d.JID, nil
}

// wait blocks until jid reached every minion and returns how long it took
// from its submission.
func (r *reach) wait(ctx context.Context, jid string) (time.Duration, error) {
	r.mu.Lock()
	ch := r.chanLocked(jid)
	r.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		r.mu.Lock()
		defer r.mu.Unlock()
		return 0, &reachError{jid: jid, got: r.count[jid], want: r.want, err: ctx.Err()}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.took[jid], nil
}

type reachError struct {
	jid       string
	got, want int
	err       error
}

func (e *reachError) Error() string {
	return "job " + e.jid + " reached " + strconv.Itoa(e.got) + " of " + strconv.Itoa(e.want) + " minions: " + e.err.Error()
}
