package state

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Result is one state's entry in a run's return, with Salt's fields.
type Result struct {
	Name      string         `json:"name"`
	Result    Tri            `json:"result"`
	Changes   map[string]any `json:"changes"`
	Comment   string         `json:"comment"`
	SLS       string         `json:"__sls__"`
	ID        string         `json:"__id__"`
	RunNum    int            `json:"__run_num__"`
	StartTime string         `json:"start_time"`
	Duration  float64        `json:"duration"`
	// StateRan is false for states a requisite kept from running.
	StateRan  *bool `json:"__state_ran__,omitempty"`
	SkipWatch bool  `json:"skip_watch,omitempty"`
}

// Results is a run's return keyed by "<mod>_|-<id>_|-<name>_|-<fun>".
type Results map[string]*Result

// Failed reports whether any state failed (retcode 2 in Salt).
func (r Results) Failed() bool {
	for _, x := range r {
		if x.Result == False {
			return true
		}
	}
	return false
}

// Tags returns the keys in run order.
func (r Results) Tags() []string {
	tags := make([]string, 0, len(r))
	for t := range r {
		tags = append(tags, t)
	}
	sort.Slice(tags, func(i, j int) bool { return r[tags[i]].RunNum < r[tags[j]].RunNum })
	return tags
}

// runner executes chunks in order, pulling requisites forward depth first
// as Salt's call_chunk does.
type runner struct {
	e       *Engine
	ctx     context.Context
	results map[*Chunk]*Result
	pre     map[*Chunk]*Result // prereq test runs
	busy    map[*Chunk]bool
	out     Results
	num     int
	stopped bool // failhard hit
	// pending are parallel states still running, with their run number.
	pending map[*Chunk]pendingRun
}

type pendingRun struct {
	done chan *Result
	num  int
}

func (e *Engine) newRunner(ctx context.Context) *runner {
	return &runner{e: e, ctx: ctx, results: map[*Chunk]*Result{}, pre: map[*Chunk]*Result{}, busy: map[*Chunk]bool{},
		out: Results{}, pending: map[*Chunk]pendingRun{}}
}

// collectAll waits for every parallel state still running, in run order.
func (r *runner) collectAll() {
	for len(r.pending) > 0 {
		var first *Chunk
		for c, p := range r.pending {
			if first == nil || p.num < r.pending[first].num {
				first = c
			}
		}
		r.collect(first)
	}
}

// collect waits for a parallel state and records its result.
func (r *runner) collect(c *Chunk) *Result {
	p := r.pending[c]
	delete(r.pending, c)
	res := <-p.done
	r.record(c, res, p.num)
	return res
}

// Run executes compiled chunks and returns Salt's result structure.
func (e *Engine) Run(ctx context.Context, chunks []*Chunk) Results {
	r := e.newRunner(ctx)
	for _, c := range chunks {
		r.run(c)
		if r.stopped {
			break
		}
	}
	r.collectAll()
	if !r.stopped {
		r.listeners(chunks)
	}
	return r.out
}

// RunID runs only the chunks of ID id (and, first, what they require), as
// state.sls_id does. A missing ID is an error.
func (e *Engine) RunID(ctx context.Context, chunks []*Chunk, id string) (Results, error) {
	r := e.newRunner(ctx)
	found := false
	for _, c := range chunks {
		if c.ID != id {
			continue
		}
		found = true
		r.run(c)
		if r.stopped {
			break
		}
	}
	r.collectAll()
	if !found {
		return nil, fmt.Errorf("%w: no ID %q in the compiled states", ErrCompile, id)
	}
	return r.out, nil
}

func (r *runner) run(c *Chunk) *Result {
	if res, ok := r.results[c]; ok {
		return res
	}
	if _, ok := r.pending[c]; ok {
		return r.collect(c)
	}
	if r.stopped || r.busy[c] {
		return nil
	}
	r.busy[c] = true
	defer delete(r.busy, c)
	for _, d := range c.deps {
		if d.kind == "prereq" {
			r.preRun(d.c, c)
			continue
		}
		r.run(d.c)
		if r.stopped {
			return nil
		}
	}
	start := time.Now()
	num := r.num
	r.num++
	res, change := r.decide(c)
	if res == nil && c.Parallel {
		// parallel: True runs in the background; whatever requires it
		// waits for it, and the run waits for it at the end.
		done := make(chan *Result, 1)
		r.pending[c] = pendingRun{done: done, num: num}
		go func() { done <- timed(start, r.execute(c, change)) }()
		return nil
	}
	if res == nil {
		res = r.execute(c, change)
	}
	return r.record(c, timed(start, res), num)
}

func timed(start time.Time, res *Result) *Result {
	res.StartTime = start.Format("15:04:05.000000")
	res.Duration = float64(time.Since(start).Microseconds()) / 1000
	return res
}

// record stores a finished state's result.
func (r *runner) record(c *Chunk, res *Result, num int) *Result {
	res.SLS, res.ID = c.SLS, c.ID
	res.RunNum = num
	r.results[c] = res
	r.out[c.Tag()] = res
	r.e.log.Debug("state ran", "tag", c.Tag(), "result", res.Result.String(), "changed", len(res.Changes) > 0, "duration_ms", res.Duration)
	if res.Result == False && (c.Failhard || r.e.opts.Failhard) {
		r.stopped = true
	}
	return res
}

// preRun test-runs t, the target of c's prereq, after t's other requisites.
func (r *runner) preRun(t, c *Chunk) {
	if _, ok := r.pre[t]; ok {
		return
	}
	for _, d := range t.deps {
		if d.kind == "prerequired" || d.kind == "prereq" {
			continue
		}
		r.run(d.c)
	}
	ret := r.call(t, true, "")
	r.pre[t] = &Result{Result: ret.Result, Changes: ret.Changes}
}

func notRun(result Tri, comment string) *Result {
	ran := false
	return &Result{Result: result, Comment: comment, Changes: map[string]any{}, StateRan: &ran}
}

// decide applies Salt's requisite rules (check_requisite): a non-nil
// result means the state is not run; change means a watched state changed.
func (r *runner) decide(c *Chunk) (*Result, bool) {
	var failed []string
	var has = map[string]bool{}
	met := map[string]bool{}
	change := false
	anyOK := map[string]bool{}
	missed := map[string]bool{} // an _all requisite with a target that did not qualify
	for _, d := range c.deps {
		has[d.kind] = true
		var res *Result
		if d.kind == "prereq" {
			res = r.pre[d.c]
		} else {
			res = r.results[d.c]
		}
		if res == nil {
			failed = append(failed, d.c.SLS+"."+d.c.ID)
			continue
		}
		switch d.kind {
		case "onfail":
			if res.Result == False {
				met["onfail"] = true
			}
			continue
		case "onfail_all":
			if res.Result != False {
				missed["onfail_all"] = true
			}
			continue
		case "require_any", "watch_any":
			if res.Result != False {
				anyOK[d.kind] = true
			}
			if d.kind == "watch_any" && res.Result != False && len(res.Changes) > 0 {
				change = true
			}
			continue
		case "prereq":
			// A would-be change (None in test mode) lets the prereq run.
			if res.Result == None {
				met["prereq"] = true
			}
			continue
		}
		if res.Result == False {
			failed = append(failed, d.c.SLS+"."+d.c.ID)
			continue
		}
		switch d.kind {
		case "onchanges":
			if len(res.Changes) > 0 {
				met["onchanges"] = true
			}
		case "onchanges_all":
			if len(res.Changes) == 0 {
				missed["onchanges_all"] = true
			}
		case "watch":
			if len(res.Changes) > 0 {
				change = true
			}
		}
	}
	for _, k := range []string{"require_any", "watch_any"} {
		if has[k] && !anyOK[k] {
			for _, d := range c.deps {
				if d.kind == k {
					failed = append(failed, d.c.SLS+"."+d.c.ID)
				}
			}
		}
	}
	switch {
	case len(failed) > 0:
		return notRun(False, "One or more requisite failed: "+strings.Join(failed, ", ")), false
	case has["prereq"] && !met["prereq"]:
		return notRun(True, "No changes detected"), false
	case has["onfail"] && !met["onfail"], missed["onfail_all"]:
		return notRun(True, "State was not run because onfail req did not change"), false
	case has["onchanges"] && !met["onchanges"]:
		return notRun(True, "State was not run because none of the onchanges reqs changed"), false
	case missed["onchanges_all"]:
		return notRun(True, "State was not run because not all of the onchanges reqs changed"), false
	}
	return nil, change
}

// execute calls the function, then its mod_watch when a watched state
// changed and the state itself did not. It touches no runner state, so a
// parallel state can run it on its own goroutine.
func (r *runner) execute(c *Chunk, change bool) *Result {
	ret := r.call(c, r.e.opts.Test, "")
	if change && len(ret.Changes) == 0 && !ret.SkipWatch && ret.Result != False {
		if f, ok := r.e.reg.Lookup(c.Func()); ok && f.ModWatch != nil {
			ret = r.call(c, r.e.opts.Test, c.Fun)
		}
	}
	return &Result{Name: ret.Name, Result: ret.Result, Changes: ret.Changes, Comment: ret.Comment, SkipWatch: ret.SkipWatch}
}

// call runs the state function (or its mod_watch when sfun is set) after
// the unless/onlyif/creates checks.
func (r *runner) call(c *Chunk, test bool, sfun string) (ret Ret) {
	defer func() {
		if p := recover(); p != nil {
			ret = Ret{Result: False, Comment: fmt.Sprintf("An exception occurred in this state: %v", p)}
		}
		if ret.Name == "" {
			ret.Name = c.Name
		}
		if ret.Changes == nil {
			ret.Changes = map[string]any{}
		}
	}()
	f, ok := r.e.reg.Lookup(c.Func())
	if !ok {
		return Ret{Result: False, Comment: fmt.Sprintf("State '%s' was not found in SLS '%s'. Reason: %s is not available.", c.Func(), c.SLS, c.Func())}
	}
	args, err := bind(f, c.Name, c.Args)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	call := &Call{Name: c.Name, ID: c.ID, SLS: c.SLS, Saltenv: c.Env, Test: test, Args: args, Log: r.e.log, e: r.e}
	for _, d := range c.deps {
		if d.kind == "require" {
			call.Requires = append(call.Requires, StateRef{Module: d.c.Module, ID: d.c.ID, Name: d.c.Name})
		}
	}
	if skip, ok := r.e.checkConditions(r.ctx, c, call); ok {
		return skip
	}
	if sfun != "" {
		call.SFun = sfun
		return f.ModWatch(r.ctx, call)
	}
	pol, err := retryPolicy(c)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	var notes []string
	for attempt := 1; ; attempt++ {
		ret = f.Run(r.ctx, call)
		if !test && ret.Result == True {
			r.e.checkCmd(r.ctx, c, &ret)
		}
		if test || attempt >= pol.attempts || (ret.Result == True) == pol.until {
			break
		}
		notes = append(notes, fmt.Sprintf("Attempt %d: Returned a result of %q, with the following comment: %q", attempt, ret.Result, ret.Comment))
		t := time.NewTimer(pol.interval)
		select {
		case <-r.ctx.Done():
			t.Stop()
			ret.Comment += "\n" + r.ctx.Err().Error()
			return ret
		case <-t.C:
		}
	}
	if len(notes) > 0 {
		ret.Comment = strings.Join(append(notes, ret.Comment), "\n")
	}
	return ret
}

// retry is Salt's retry option: attempts (default 2), interval seconds
// (default 30), until (the result wanted, default True).
type retry struct {
	attempts int
	interval time.Duration
	until    bool
}

func retryPolicy(c *Chunk) (retry, error) {
	p := retry{attempts: 1, until: true}
	for _, a := range c.Args {
		if a.Key != "retry" {
			continue
		}
		p.attempts, p.interval = 2, 30*time.Second
		switch v := a.Val.(type) {
		case bool:
			if !v {
				p.attempts = 1
			}
		case *Map:
			for _, k := range v.Keys {
				x := v.Values[k]
				switch k {
				case "attempts":
					n, ok := number(x)
					if !ok || n < 1 {
						return p, fmt.Errorf("retry: attempts must be a positive number")
					}
					p.attempts = int(n)
				case "interval":
					n, ok := number(x)
					if !ok || n < 0 {
						return p, fmt.Errorf("retry: interval must be a number of seconds")
					}
					p.interval = time.Duration(n * float64(time.Second))
				case "until":
					p.until = truthy(x)
				case "splay":
				default:
					return p, fmt.Errorf("retry: unknown option %q", k)
				}
			}
		default:
			return p, fmt.Errorf("retry must be true or a mapping of attempts, interval, until, splay")
		}
	}
	return p, nil
}

// listeners fires mod_watch, after every state ran, for each state whose
// listened-to states changed; results are tagged with "listener_<id>".
func (r *runner) listeners(chunks []*Chunk) {
	for _, c := range chunks {
		if len(c.listens) == 0 {
			continue
		}
		fire := false
		for _, t := range c.listens {
			if res := r.results[t]; res != nil && res.Result != False && len(res.Changes) > 0 {
				fire = true
			}
		}
		if own := r.results[c]; !fire || own == nil || own.Result == False {
			continue
		}
		f, ok := r.e.reg.Lookup(c.Func())
		if !ok || f.ModWatch == nil {
			continue
		}
		start := time.Now()
		ret := r.call(c, r.e.opts.Test, c.Fun)
		res := &Result{Name: ret.Name, Result: ret.Result, Changes: ret.Changes, Comment: ret.Comment,
			SLS: c.SLS, ID: "listener_" + c.ID, RunNum: r.num, StartTime: start.Format("15:04:05.000000")}
		res.Duration = float64(time.Since(start).Microseconds()) / 1000
		r.num++
		r.out[c.Module+"_|-listener_"+c.ID+"_|-"+c.Name+"_|-mod_watch"] = res
	}
}
