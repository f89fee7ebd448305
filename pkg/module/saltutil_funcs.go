package module

import (
	"context"
	"errors"
	"fmt"
	"syscall"
)

// ErrNoRuntime is returned by functions that need a live minion (saltutil.*)
// when called without one (Env.Runtime is nil).
var ErrNoRuntime = errors.New("module: no minion runtime")

func runtimeOf(env *Env, fun string) (Runtime, error) {
	if env.Runtime == nil {
		return nil, fmt.Errorf("%w: %s needs a running minion", ErrNoRuntime, fun)
	}
	return env.Runtime, nil
}

func jobMap(j JobInfo) map[string]any {
	arg := j.Arg
	if arg == nil {
		arg = []any{}
	}
	m := map[string]any{"jid": j.JID, "fun": j.Fun, "arg": arg, "pid": j.PID, "start": j.Start}
	if j.Tgt != "" {
		m["tgt"] = j.Tgt
	}
	if j.User != "" {
		m["user"] = j.User
	}
	return m
}

func findJob(rt Runtime, jid string) (JobInfo, bool) {
	for _, j := range rt.Running() {
		if j.JID == jid {
			return j, true
		}
	}
	return JobInfo{}, false
}

// syncKinds are the keys of Salt's saltutil.sync_all answer.
var syncKinds = []string{"beacons", "clouds", "engines", "executors", "grains", "log_handlers", "matchers",
	"modules", "output", "proxymodules", "renderers", "returners", "sdb", "serializers", "states", "thorium", "utils"}

func init() {
	jidArg := []Arg{{Name: "jid", Kind: String, Required: true, Doc: "job id"}}
	Default.Register(&Func{
		Name: "saltutil.running",
		Doc:  "Return the jobs running on this minion, as a list of {jid, fun, arg, pid, start}.",
		Run: func(_ context.Context, env *Env, _ *Args) (any, error) {
			rt, err := runtimeOf(env, "saltutil.running")
			if err != nil {
				return nil, err
			}
			out := []any{}
			for _, j := range rt.Running() {
				out = append(out, jobMap(j))
			}
			return out, nil
		},
	})
	Default.Register(&Func{
		Name: "saltutil.find_job",
		Doc:  "Return the data of the job jid if it is running on this minion, else an empty dict.",
		Args: jidArg,
		Run: func(_ context.Context, env *Env, a *Args) (any, error) {
			rt, err := runtimeOf(env, "saltutil.find_job")
			if err != nil {
				return nil, err
			}
			if j, ok := findJob(rt, a.String("jid")); ok {
				return jobMap(j), nil
			}
			return map[string]any{}, nil
		},
	})
	Default.Register(&Func{
		Name: "saltutil.kill_job",
		Doc:  "Kill the running job jid (its context is cancelled and the processes it started are killed).",
		Args: jidArg,
		Run: func(_ context.Context, env *Env, a *Args) (any, error) {
			rt, err := runtimeOf(env, "saltutil.kill_job")
			if err != nil {
				return nil, err
			}
			jid := a.String("jid")
			j, _ := findJob(rt, jid)
			if err := rt.Kill(jid); err != nil {
				return nil, fmt.Errorf("module: saltutil.kill_job %s: %w", jid, err)
			}
			return fmt.Sprintf("Signal %d sent to job %s at pid %d", int(syscall.SIGKILL), jid, j.PID), nil
		},
	})
	Default.Register(&Func{
		Name: "saltutil.refresh_grains",
		Doc:  "Collect the grains again (the master's cache is updated with them). Returns True.",
		Args: []Arg{{Name: "refresh_pillar", Kind: Bool, Default: false, Doc: "also refresh the pillar"}},
		Run: func(ctx context.Context, env *Env, a *Args) (any, error) {
			rt, err := runtimeOf(env, "saltutil.refresh_grains")
			if err != nil {
				return nil, err
			}
			if _, err := rt.RefreshGrains(ctx); err != nil {
				return nil, fmt.Errorf("module: saltutil.refresh_grains: %w", err)
			}
			if a.Bool("refresh_pillar") {
				if _, err := rt.RefreshPillar(ctx); err != nil {
					return nil, fmt.Errorf("module: saltutil.refresh_grains: pillar: %w", err)
				}
			}
			return true, nil
		},
	})
	Default.Register(&Func{
		Name: "saltutil.refresh_pillar",
		Doc:  "Compile the pillar again on the master and load it on this minion. Returns True.",
		Args: []Arg{{Name: "wait", Kind: Bool, Default: true, Doc: "accepted for Salt compatibility: the refresh always completes before returning"}},
		Run: func(ctx context.Context, env *Env, _ *Args) (any, error) {
			rt, err := runtimeOf(env, "saltutil.refresh_pillar")
			if err != nil {
				return nil, err
			}
			if _, err := rt.RefreshPillar(ctx); err != nil {
				return nil, fmt.Errorf("module: saltutil.refresh_pillar: %w", err)
			}
			return true, nil
		},
	})
	Default.Register(&Func{
		Name: "saltutil.sync_all",
		Doc: "Accepted for Salt compatibility: Brine's functions are built in, so there is nothing to sync. " +
			"Returns Salt's answer for an empty sync, every kind mapped to an empty list.",
		Args: []Arg{
			{Name: "saltenv", Kind: String, Doc: "ignored"},
			{Name: "refresh", Kind: Bool, Default: true, Doc: "ignored"},
		},
		Run: func(context.Context, *Env, *Args) (any, error) {
			out := map[string]any{}
			for _, k := range syncKinds {
				out[k] = []any{}
			}
			return out, nil
		},
	})
}
