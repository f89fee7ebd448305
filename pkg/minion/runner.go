package minion

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/brine-project/brine/pkg/job"
	"github.com/brine-project/brine/pkg/module"
)

// runner executes jobs on a minion: it matches the target, refuses a JID it
// already ran, bounds how many jobs run at once, spools each return to disk
// and hands it to send.
type runner struct {
	log   *slog.Logger
	reg   *module.Registry
	slots chan struct{}
	spool *spool
	env   func(j *job.Job) *module.Env // a fresh Env per job (grains, pillar)
	send  func(job.Return)

	mu      sync.Mutex // guards running, seen, order
	running map[string]*runningJob
	seen    map[string]bool
	order   []string // seen JIDs, oldest first, to bound the set
}

type runningJob struct {
	info   module.JobInfo
	cancel context.CancelFunc
}

const seenLimit = 10000

func newRunner(log *slog.Logger, reg *module.Registry, limit int, sp *spool, env func(*job.Job) *module.Env, send func(job.Return)) *runner {
	if limit <= 0 {
		limit = 32
	}
	return &runner{log: log, reg: reg, slots: make(chan struct{}, limit), spool: sp, env: env, send: send,
		running: map[string]*runningJob{}, seen: map[string]bool{}}
}

// claim records jid as taken; false if it ran or is running already.
func (r *runner) claim(jid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[jid] || r.spool.Has(jid) {
		return false
	}
	r.seen[jid] = true
	r.order = append(r.order, jid)
	if len(r.order) > seenLimit {
		delete(r.seen, r.order[0])
		r.order = r.order[1:]
	}
	return true
}

// Start runs j in its own goroutine once a slot is free. The caller has
// already checked that the target matches this minion.
func (r *runner) Start(ctx context.Context, j job.Job) {
	if !validJID(j.JID) || !r.claim(j.JID) {
		r.log.Debug("job ignored: already seen", slog.String("jid", j.JID))
		return
	}
	jctx, cancel := context.WithCancel(ctx)
	rj := &runningJob{cancel: cancel, info: module.JobInfo{
		JID: j.JID, Fun: j.Fun, Arg: j.Arg, PID: os.Getpid(), Tgt: fmt.Sprint(j.Tgt), User: j.User,
		Start: time.Now().UTC().Format(time.RFC3339Nano),
	}}
	r.mu.Lock()
	r.running[j.JID] = rj
	r.mu.Unlock()
	go func() {
		defer cancel()
		acquired := false
		select {
		case r.slots <- struct{}{}:
			acquired = true
		case <-jctx.Done(): // killed while waiting for a slot
		}
		ret := r.run(jctx, &j)
		if acquired {
			<-r.slots
		}
		r.mu.Lock()
		delete(r.running, j.JID)
		r.mu.Unlock()
		if err := r.spool.Put(ret); err != nil {
			r.log.Error("return not spooled", slog.String("jid", j.JID), slog.Any("err", err))
		}
		r.send(ret)
	}()
}

func (r *runner) run(ctx context.Context, j *job.Job) job.Return {
	start := time.Now()
	ret := job.Return{JID: j.JID, Fun: j.Fun}
	if err := ctx.Err(); err != nil {
		ret.Return, _ = json.Marshal("job killed before it started")
		ret.Retcode = 1
		return ret
	}
	if j.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(j.Timeout*float64(time.Second)))
		defer cancel()
	}
	env := r.env(j)
	env.JID = j.JID
	v, err := r.reg.Call(ctx, env, j.Fun, j.Arg, j.Kwarg)
	val, code := module.RetcodeOf(v, err)
	b, merr := json.Marshal(val)
	if merr != nil {
		b, _ = json.Marshal(fmt.Sprintf("return of %s is not serialisable: %v", j.Fun, merr))
		code = 1
	}
	ret.Return, ret.Retcode, ret.Success = b, code, code == 0
	ret.Duration = time.Since(start).Seconds()
	return ret
}

// Running lists the jobs in progress (saltutil.running).
func (r *runner) Running() []module.JobInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]module.JobInfo, 0, len(r.running))
	for _, rj := range r.running {
		out = append(out, rj.info)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].JID < out[k].JID })
	return out
}

// Kill cancels a running job (saltutil.kill_job).
func (r *runner) Kill(jid string) error {
	r.mu.Lock()
	rj, ok := r.running[jid]
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("minion: job %s is not running", jid)
	}
	rj.cancel()
	return nil
}
