package master

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/events"
	"github.com/brine-project/brine/pkg/jobstore"
)

// tracker follows running jobs in memory: which expected minions still owe
// a return, the returns so far (so a waiting API call answers without a
// store round trip), and the timer that ends the job at its timeout.
type tracker struct {
	m      *Master
	ctx    context.Context // ends at stop: finishing goroutines give up
	cancel context.CancelFunc

	mu   sync.Mutex // guards jobs
	jobs map[string]*tracked
	wg   sync.WaitGroup // finishing goroutines
}

type tracked struct {
	job     jobstore.Job
	missing map[string]bool
	// unreachable minions were not connected when the job was published:
	// it cannot reach them, so the job does not wait for them.
	unreachable []string
	returns     map[string]jobstore.Return
	noReturn    []jobstore.NoReturn
	done        chan struct{} // closed at completion
	timer       *time.Timer
	finished    bool
}

// keepDone is how long a completed job stays in memory for late Wait and
// GetJob calls while its rows reach the store.
const keepDone = time.Minute

func newTracker(m *Master) *tracker {
	ctx, cancel := context.WithCancel(context.Background())
	return &tracker{m: m, ctx: ctx, cancel: cancel, jobs: map[string]*tracked{}}
}

// add starts tracking j, whose Expected is final. Minions listed as
// unreachable are not waited for (a publish is not kept for a minion that
// was not connected to receive it). A job with nobody left to wait for
// completes at once.
func (t *tracker) add(j jobstore.Job, returned []jobstore.Return, unreachable []string) {
	tr := &tracked{job: j, missing: map[string]bool{}, returns: map[string]jobstore.Return{}, done: make(chan struct{}),
		unreachable: unreachable}
	for _, id := range j.Expected {
		tr.missing[id] = true
	}
	for _, id := range unreachable {
		delete(tr.missing, id)
	}
	for _, r := range returned {
		tr.returns[r.Minion] = r
		delete(tr.missing, r.Minion)
	}
	t.mu.Lock()
	t.jobs[j.JID] = tr
	if len(tr.missing) == 0 {
		t.finishLocked(tr)
	} else {
		left := time.Until(j.Created.Add(j.Timeout))
		tr.timer = time.AfterFunc(max(left, 0), func() { t.timeout(j.JID) })
	}
	t.mu.Unlock()
}

// returned records a return; the last expected one completes the job.
func (t *tracker) returned(r jobstore.Return) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tr, ok := t.jobs[r.JID]
	if !ok {
		return
	}
	if _, dup := tr.returns[r.Minion]; dup {
		return
	}
	tr.returns[r.Minion] = r
	if tr.finished {
		return // a late return: stored, shown, but the job is already over
	}
	delete(tr.missing, r.Minion)
	if len(tr.missing) == 0 {
		t.finishLocked(tr)
	}
}

func (t *tracker) timeout(jid string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tr, ok := t.jobs[jid]; ok && !tr.finished {
		t.finishLocked(tr)
	}
}

// finishLocked completes tr: missing minions become no-return records,
// waiters wake, and the store learns it once the returns are written.
func (t *tracker) finishLocked(tr *tracked) {
	tr.finished = true
	if tr.timer != nil {
		tr.timer.Stop()
	}
	for id := range tr.missing {
		reason := jobstore.ReasonNoResponse
		if !t.m.cache.connected(id) {
			reason = jobstore.ReasonNotConnected
		}
		tr.noReturn = append(tr.noReturn, jobstore.NoReturn{Minion: id, Reason: reason})
	}
	for _, id := range tr.unreachable {
		if _, ok := tr.returns[id]; !ok {
			tr.noReturn = append(tr.noReturn, jobstore.NoReturn{Minion: id, Reason: jobstore.ReasonNotConnected})
		}
	}
	sort.Slice(tr.noReturn, func(i, k int) bool { return tr.noReturn[i].Minion < tr.noReturn[k].Minion })
	now := time.Now()
	tr.job.Status = jobstore.StatusComplete
	tr.job.Finished = &now
	close(tr.done)
	jid, noReturn := tr.job.JID, tr.noReturn
	t.m.bus.Publish(events.JobCompleteTag(jid), map[string]any{"jid": jid, "no_return": noReturn})
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		ctx := t.ctx
		// The returns go into the store first (through an outage too), so
		// that a job complete in the store always has them.
		if err := t.m.writer.Sync(ctx); err != nil {
			t.m.log.Warn("returns not in the store before finishing job", slog.String("jid", jid), slog.Any("err", err))
			return
		}
		for attempt := 0; ; attempt++ {
			err := t.m.store.FinishJob(ctx, jid, jobstore.StatusComplete, noReturn, now)
			if err == nil {
				break
			}
			if attempt == 0 {
				t.m.log.Debug("job not marked complete yet", slog.String("jid", jid), slog.Any("err", err))
			}
			select {
			case <-t.m.jobsDone():
				t.m.log.Error("job not marked complete", slog.String("jid", jid), slog.Any("err", err))
				return
			case <-time.After(time.Second):
			}
		}
		select {
		case <-time.After(keepDone):
		case <-t.m.jobsDone():
		}
		t.mu.Lock()
		delete(t.jobs, jid)
		t.mu.Unlock()
	}()
}

// wait blocks until jid completes. ok is false when this master does not
// track jid (already evicted, or submitted elsewhere).
func (t *tracker) wait(ctx context.Context, jid string) (*types.JobDetail, bool, error) {
	t.mu.Lock()
	tr, ok := t.jobs[jid]
	t.mu.Unlock()
	if !ok {
		return nil, false, nil
	}
	select {
	case <-tr.done:
	case <-ctx.Done():
		return nil, true, ctx.Err()
	}
	d, _ := t.detail(jid)
	return d, true, nil
}

// detail is the tracked job as the API shows it.
func (t *tracker) detail(jid string) (*types.JobDetail, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tr, ok := t.jobs[jid]
	if !ok {
		return nil, false
	}
	d := &jobstore.JobDetail{Job: tr.job, NoReturn: tr.noReturn}
	for _, r := range tr.returns {
		d.Returns = append(d.Returns, r)
	}
	return toAPIJob(d), true
}

// recover re-arms the jobs a previous run of this master left running, so
// a restart neither loses their returns nor leaves them running forever.
func (t *tracker) recover(ctx context.Context) {
	jobs, _, err := t.m.store.ListJobs(ctx, jobstore.JobFilter{Since: time.Now().Add(-24 * time.Hour), Limit: 1000})
	if err != nil {
		t.m.log.Warn("running jobs not recovered", slog.Any("err", err))
		return
	}
	for _, j := range jobs {
		if j.Status != jobstore.StatusRunning || j.Master != t.m.cfg.ID {
			continue
		}
		d, err := t.m.store.GetJob(ctx, j.JID)
		if err != nil {
			continue
		}
		t.add(d.Job, d.Returns, nil) // minions reconnect after a restart: wait for all
		t.m.log.Info("job recovered", slog.String("jid", j.JID), slog.Int("returns", len(d.Returns)))
	}
}

func (t *tracker) stop() {
	t.mu.Lock()
	for _, tr := range t.jobs {
		if tr.timer != nil {
			tr.timer.Stop()
		}
	}
	t.mu.Unlock()
	t.cancel()
	t.wg.Wait()
}

func toAPIJob(d *jobstore.JobDetail) *types.JobDetail {
	out := &types.JobDetail{
		JID: d.JID, Fun: d.Fun, Arg: d.Arg, Kwarg: d.Kwarg, Tgt: d.Tgt, TgtType: d.TgtType, User: d.User,
		Created: d.Created, Timeout: d.Timeout.Seconds(), Status: types.JobStatus(d.Status),
		Expected: d.Expected, Returns: map[string]types.MinionReturn{}, NoReturn: []types.NoReturnEntry{},
	}
	if out.Arg == nil {
		out.Arg = []any{}
	}
	if out.Expected == nil {
		out.Expected = []string{}
	}
	for _, r := range d.Returns {
		var v any = json.RawMessage(r.Return)
		if len(r.Return) == 0 {
			v = nil
		}
		out.Returns[r.Minion] = types.MinionReturn{Return: v, Retcode: r.Retcode, Success: r.Success, Duration: r.Duration.Seconds()}
	}
	for _, n := range d.NoReturn {
		out.NoReturn = append(out.NoReturn, types.NoReturnEntry{Minion: n.Minion, Reason: n.Reason})
	}
	return out
}
