package module

import (
	"context"
	"errors"
	"fmt"
	"github.com/brine-project/brine/pkg/render"
	"strings"

	"github.com/brine-project/brine/pkg/state"
)

// The state.* functions compile and apply SLS through pkg/state. They need
// the minion's state collaborators (renderer, file client, top matcher),
// which Env.Runtime offers by implementing state.Provider.

func init() {
	runArgs := []Arg{
		{Name: "test", Kind: Bool, KwOnly: true, Doc: "report what would change, change nothing (default: the minion's test option)"},
		{Name: "saltenv", Kind: String, KwOnly: true, Doc: "environment to read SLS and the top file from"},
		{Name: "pillarenv", Kind: String, KwOnly: true, Doc: "compile this run's pillar from this pillar environment only"},
		{Name: "pillar", Kind: Map, KwOnly: true, Doc: "pillar data merged over the minion's for this run"},
		{Name: "exclude", Kind: Any, KwOnly: true, Doc: "SLS names or [{sls: x}, {id: y}] to leave out"},
		{Name: "queue", Kind: Bool, Default: false, KwOnly: true, Doc: "wait for a running state run instead of refusing"},
		{Name: "failhard", Kind: Bool, KwOnly: true, Doc: "stop at the first failed state"},
		{Name: "concurrent", Kind: Bool, Default: false, KwOnly: true, Doc: "run even when another state run is in progress"},
	}
	mods := Arg{Name: "mods", Kind: List, Doc: "SLS names, as a list or \"a,b\""}
	reqMods := mods
	reqMods.Required = true
	Default.Register(&Func{Name: "state.apply", Doc: "Apply the named SLS, or the highstate when none is named.",
		Args: append([]Arg{mods}, runArgs...), Run: stateRun("state.apply")})
	Default.Register(&Func{Name: "state.sls", Doc: "Apply the named SLS.",
		Args: append([]Arg{reqMods}, runArgs...), Run: stateRun("state.sls")})
	Default.Register(&Func{Name: "state.highstate", Doc: "Apply what the top file assigns to this minion.",
		Args: runArgs, Run: stateRun("state.highstate")})
	Default.Register(&Func{Name: "state.single", Doc: "Run one state function: state.single pkg.installed name=vim.",
		Args: append([]Arg{{Name: "fun", Kind: String, Required: true, Doc: "state function, e.g. file.managed"},
			{Name: "name", Kind: String, Required: true, Doc: "the state's name argument"}}, runArgs...),
		VarKwargs: true, Run: stateRun("state.single")})
	Default.Register(&Func{Name: "state.test", Doc: "state.apply with test=True: report what would change.",
		Args: append([]Arg{mods}, runArgs...), Run: stateRun("state.test")})
	Default.Register(&Func{Name: "state.sls_id", Doc: "Run one ID (and what it requires) from the named SLS.",
		Args: append([]Arg{{Name: "id", Kind: String, Required: true, Doc: "the ID declaration to run"}, reqMods}, runArgs...),
		Run:  stateRun("state.sls_id")})
	Default.Register(&Func{Name: "state.show_sls", Doc: "Return the compiled high data of the named SLS.",
		Args: append([]Arg{reqMods}, runArgs...), Run: stateShow("sls")})
	Default.Register(&Func{Name: "state.show_highstate", Doc: "Return the compiled high data of the highstate.",
		Args: runArgs, Run: stateShow("highstate")})
	Default.Register(&Func{Name: "state.show_lowstate", Doc: "Return the ordered low chunks of the highstate (or of mods).",
		Args: append([]Arg{mods}, runArgs...), Run: stateShow("lowstate")})
	Default.Register(&Func{Name: "state.show_top", Doc: "Return the SLS the top file assigns to this minion, per environment.",
		Args: runArgs, Run: stateShow("top")})
	Default.Register(&Func{Name: "state.running", Doc: "Return the state run in progress on this minion, if any.",
		Run: func(_ context.Context, env *Env, _ *Args) (any, error) {
			cur := state.LockFor(env.MinionID).Current()
			if cur.JID == "" {
				return []any{}, nil
			}
			return []any{(&state.ErrBusy{Running: cur}).Error()}, nil
		}})
}

// stateEngine builds the engine for one call from the Env and kwargs.
func stateEngine(ctx context.Context, env *Env, a *Args, forceTest bool) (*state.Engine, error) {
	p, ok := env.Runtime.(state.Provider)
	if !ok {
		return nil, errors.New("module: this minion has no state system (its runtime provides no renderer or file client)")
	}
	deps := p.StateDeps()
	if deps.Caller == nil && env.Registry != nil {
		deps.Caller = stateCaller{env}
	}
	test, _ := env.Opts["test"].(bool)
	if a.Has("test") {
		test = a.Bool("test")
	}
	test = test || forceTest
	failhard, _ := env.Opts["failhard"].(bool)
	if a.Has("failhard") {
		failhard = a.Bool("failhard")
	}
	saltenv := a.String("saltenv")
	if saltenv == "" {
		saltenv, _ = env.Opts["saltenv"].(string)
	}
	pillar := env.Pillar
	if pe := a.String("pillarenv"); pe != "" {
		pc, ok := env.Runtime.(PillarCompiler)
		if !ok {
			return nil, errors.New("module: pillarenv: this minion cannot compile pillar for another environment")
		}
		var err error
		if pillar, err = pc.CompilePillar(ctx, pe); err != nil {
			return nil, fmt.Errorf("module: pillarenv %s: %w", pe, err)
		}
	}
	if a.Has("pillar") {
		pillar = render.MergeRecurse(render.DeepCopy(pillar).(map[string]any), a.Map("pillar"), false)
	}
	var exclude []any
	switch x := a.Get("exclude").(type) {
	case string:
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				exclude = append(exclude, s)
			}
		}
	case []any:
		for _, e := range x {
			exclude = append(exclude, state.Ordered(e))
		}
	}
	return state.New(nil, deps, state.Options{
		MinionID: env.MinionID, JID: env.JID, Saltenv: saltenv, Test: test, Failhard: failhard,
		Grains: env.Grains, Pillar: pillar, Opts: env.Opts, Log: env.Log, Exclude: exclude,
	}), nil
}

// PillarCompiler is the optional Runtime ability behind state runs'
// pillarenv: the minion's pillar compiled from one pillar environment, for
// this run only.
type PillarCompiler interface {
	CompilePillar(ctx context.Context, pillarenv string) (map[string]any, error)
}

// stateCaller lets onlyif/unless call execution functions.
type stateCaller struct{ env *Env }

func (c stateCaller) Call(ctx context.Context, fun string, args []any, kwargs map[string]any) (any, error) {
	v, err := c.env.Registry.Call(ctx, c.env, fun, args, kwargs)
	ret, _ := RetcodeOf(v, err)
	return ret, err
}

func stateMods(a *Args) []string {
	var out []string
	for _, m := range a.List("mods") {
		if s := strings.TrimSpace(fmt.Sprint(m)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func stateRun(fun string) func(ctx context.Context, env *Env, a *Args) (any, error) {
	return func(ctx context.Context, env *Env, a *Args) (any, error) {
		e, err := stateEngine(ctx, env, a, fun == "state.test")
		if err != nil {
			return nil, err
		}
		if !a.Bool("concurrent") {
			var release func()
			if a.Bool("queue") {
				release, err = state.LockFor(env.MinionID).Acquire(ctx, env.JID, fun)
			} else {
				release, err = state.LockFor(env.MinionID).TryAcquire(env.JID, fun)
			}
			var busy *state.ErrBusy
			if errors.As(err, &busy) {
				return Result{Return: []any{busy.Error()}, Retcode: 1}, nil
			}
			if err != nil {
				return nil, err
			}
			defer release()
		}
		var res state.Results
		mods := stateMods(a)
		switch {
		case fun == "state.single":
			args := state.NewMap()
			args.Set("name", a.String("name"))
			for k, v := range a.ExtraKw {
				if !strings.HasPrefix(k, "__") {
					args.Set(k, state.Ordered(v))
				}
			}
			res, err = e.Single(ctx, a.String("fun"), args)
		case fun == "state.sls_id":
			var h *state.High
			if h, err = e.CompileSLS(ctx, "", mods...); err == nil {
				var chunks []*state.Chunk
				if chunks, err = e.Lowstate(h); err == nil {
					res, err = e.RunID(ctx, chunks, a.String("id"))
				}
			}
		case fun == "state.highstate" || len(mods) == 0:
			res, err = e.ApplyHighstate(ctx)
		default:
			res, err = e.ApplySLS(ctx, mods...)
		}
		if err != nil {
			return stateErrors(err), nil
		}
		code := 0
		if res.Failed() {
			code = 2
		}
		return Result{Return: res, Retcode: code}, nil
	}
}

// stateErrors is Salt's answer to a run that did not compile: the list of
// problems, retcode 1.
func stateErrors(err error) Result {
	lines := state.ErrorLines(err)
	out := make([]any, len(lines))
	for i, l := range lines {
		out[i] = l
	}
	return Result{Return: out, Retcode: 1}
}

func stateShow(what string) func(ctx context.Context, env *Env, a *Args) (any, error) {
	return func(ctx context.Context, env *Env, a *Args) (any, error) {
		e, err := stateEngine(ctx, env, a, false)
		if err != nil {
			return nil, err
		}
		if what == "top" {
			top, err := e.Top(ctx)
			if err != nil {
				return stateErrors(err), nil
			}
			return top, nil
		}
		var h *state.High
		if mods := stateMods(a); len(mods) > 0 {
			h, err = e.CompileSLS(ctx, "", mods...)
		} else {
			h, err = e.CompileHighstate(ctx)
		}
		if err != nil {
			return stateErrors(err), nil
		}
		if what != "lowstate" {
			return h.Data(), nil
		}
		chunks, err := e.Lowstate(h)
		if err != nil {
			return stateErrors(err), nil
		}
		out := make([]any, len(chunks))
		for i, c := range chunks {
			out[i] = c.Low()
		}
		return out, nil
	}
}

// stateMerge merges over into base recursively (Salt's pillar override).
