package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
)

// ErrNoTop means no top file assigned any state to this minion.
var ErrNoTop = errors.New("state: no top file or master_tops data matches found")

// Top reads top.sls of each environment (only Options.Saltenv when set)
// and returns, for each environment in order, the SLS names this minion is
// assigned ({env: [sls, ...]}), as state.show_top.
func (e *Engine) Top(ctx context.Context) (*Map, error) {
	envs := []string{"base"}
	if e.opts.Saltenv != "" {
		envs = []string{e.opts.Saltenv}
	} else if l, ok := e.deps.Files.(EnvLister); ok {
		got, err := l.Envs(ctx)
		if err != nil {
			return nil, fmt.Errorf("state: list environments: %w", err)
		}
		if len(got) > 0 {
			envs = orderEnvs(got)
		}
	}
	out := NewMap()
	var errs []error
	for _, env := range envs {
		if e.deps.Files == nil || e.deps.Renderer == nil {
			return nil, fmt.Errorf("state: no file client or renderer configured")
		}
		local, err := e.deps.Files.GetFile(ctx, "salt://top.sls", env)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		src, err := os.ReadFile(local)
		if err != nil {
			return nil, fmt.Errorf("state: read top file: %w", err)
		}
		data, err := e.deps.Renderer.RenderSLS(ctx, src, e.renderInput(env, "top", "salt://top.sls"))
		if err != nil {
			return nil, fmt.Errorf("state: rendering top file of saltenv %q: %w", env, err)
		}
		top, ok := Ordered(data).(*Map)
		if data == nil {
			continue
		}
		if !ok {
			return nil, fmt.Errorf("%w: top file of saltenv %q is not a dictionary", ErrCompile, env)
		}
		for _, tenv := range top.Keys {
			if e.opts.Saltenv != "" && tenv != e.opts.Saltenv {
				continue
			}
			targets, ok := top.Values[tenv].(*Map)
			if !ok {
				errs = append(errs, fmt.Errorf("%w: top file of saltenv %q: environment %q is not a dictionary of targets", ErrCompile, env, tenv))
				continue
			}
			for _, tgt := range targets.Keys {
				sls, tgtType, err := topEntry(targets.Values[tgt])
				if err != nil {
					errs = append(errs, fmt.Errorf("%w: top file of saltenv %q, target %q: %v", ErrCompile, env, tgt, err))
					continue
				}
				ok, err := e.matchTop(ctx, tgt, tgtType)
				if err != nil {
					errs = append(errs, fmt.Errorf("state: top file of saltenv %q, target %q: %w", env, tgt, err))
					continue
				}
				if !ok {
					continue
				}
				cur, _ := out.Get(tenv)
				list, _ := cur.([]any)
				for _, s := range sls {
					if !containsAny(list, s) {
						list = append(list, s)
					}
				}
				out.Set(tenv, list)
			}
		}
	}
	if len(errs) > 0 {
		return nil, joinErrs(errs)
	}
	if out.Len() == 0 {
		return nil, ErrNoTop
	}
	return out, nil
}

// orderEnvs puts base first, as Salt evaluates it first.
func orderEnvs(envs []string) []string {
	out := []string{}
	for _, e := range envs {
		if e == "base" {
			out = append(out, e)
		}
	}
	for _, e := range envs {
		if e != "base" {
			out = append(out, e)
		}
	}
	return out
}

func topEntry(v any) (sls []any, tgtType string, err error) {
	tgtType = "glob"
	for _, item := range asList(v) {
		switch x := item.(type) {
		case string:
			sls = append(sls, x)
		case *Map:
			for _, k := range x.Keys {
				if k == "match" {
					tgtType = scalarString(x.Values[k])
				}
				// Other options (order, ...) are accepted and ignored.
			}
		default:
			return nil, "", fmt.Errorf("entry %v is neither an SLS name nor an option", item)
		}
	}
	return sls, tgtType, nil
}

func (e *Engine) matchTop(ctx context.Context, tgt, tgtType string) (bool, error) {
	if e.deps.Matcher != nil {
		return e.deps.Matcher.MatchTop(ctx, tgt, tgtType, Minion{ID: e.opts.MinionID, Grains: e.opts.Grains, Pillar: e.opts.Pillar})
	}
	if tgtType != "glob" {
		return false, fmt.Errorf("match type %q needs a top matcher", tgtType)
	}
	ok, err := path.Match(tgt, e.opts.MinionID)
	return ok && err == nil, nil
}

func containsAny(l []any, v any) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}
