package state

import (
	"context"
	"fmt"
	"os"
)

// checkConditions evaluates unless, onlyif and creates, which every state
// accepts. ok is true when the state must be skipped, with skip as result.
func (e *Engine) checkConditions(ctx context.Context, c *Chunk, call *Call) (skip Ret, ok bool) {
	var unless, onlyif, creates any
	opts := shellOpts{}
	for _, a := range c.Args {
		switch a.Key {
		case "unless":
			unless = a.Val
		case "onlyif":
			onlyif = a.Val
		case "creates":
			// cmd.run handles creates itself in Salt too; checking here
			// gives the same result for every state.
			creates = a.Val
		case "cwd":
			opts.Cwd = scalarString(a.Val)
		case "runas":
			opts.Runas = scalarString(a.Val)
		case "shell":
			opts.Shell = scalarString(a.Val)
		}
	}
	if onlyif != nil {
		for _, entry := range asList(onlyif) {
			pass, err := e.condition(ctx, entry, opts)
			if err != nil {
				return Ret{Result: False, Comment: fmt.Sprintf("onlyif: %v", err)}, true
			}
			if !pass {
				return Ret{Result: True, Comment: "onlyif condition is false", SkipWatch: true}, true
			}
		}
	}
	if unless != nil {
		all := true
		for _, entry := range asList(unless) {
			pass, err := e.condition(ctx, entry, opts)
			if err != nil {
				return Ret{Result: False, Comment: fmt.Sprintf("unless: %v", err)}, true
			}
			if !pass {
				all = false
				break
			}
		}
		if all {
			return Ret{Result: True, Comment: "unless condition is true", SkipWatch: true}, true
		}
	}
	if creates != nil {
		all := true
		for _, p := range asList(creates) {
			if _, err := os.Stat(scalarString(p)); err != nil {
				all = false
				break
			}
		}
		if all {
			return Ret{Result: True, Comment: "All files in creates exist", SkipWatch: true}, true
		}
	}
	return Ret{}, false
}

// condition runs one unless/onlyif entry: a shell command (true when it
// exits 0) or {fun: mod.fun, args: [...], kwargs...} (true when the
// function returns a truthy value).
func (e *Engine) condition(ctx context.Context, entry any, opts shellOpts) (bool, error) {
	switch x := entry.(type) {
	case string:
		res, err := runShell(ctx, x, opts)
		if err != nil {
			return false, err
		}
		return res.Retcode == 0, nil
	case *Map:
		fun, _ := x.Get("fun")
		name, ok := fun.(string)
		if !ok {
			return false, fmt.Errorf("entry %v needs fun: module.function", Plain(x))
		}
		if e.deps.Caller == nil {
			return false, fmt.Errorf("cannot call %s: no execution module caller configured", name)
		}
		var args []any
		kwargs := map[string]any{}
		for _, k := range x.Keys {
			switch k {
			case "fun":
			case "args":
				args = Plain(asList(x.Values[k])).([]any)
			default:
				kwargs[k] = Plain(x.Values[k])
			}
		}
		v, err := e.deps.Caller.Call(ctx, name, args, kwargs)
		if err != nil {
			return false, err
		}
		return isTruthy(v), nil
	}
	return false, fmt.Errorf("entry %v is neither a command nor a function call", entry)
}

func isTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int64:
		return x != 0
	case int:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// checkCmd runs check_cmd after a state succeeded: any command that exits
// non-zero turns the result into a failure, as in Salt.
func (e *Engine) checkCmd(ctx context.Context, c *Chunk, ret *Ret) {
	for _, a := range c.Args {
		if a.Key != "check_cmd" {
			continue
		}
		for _, cmd := range asList(a.Val) {
			res, err := runShell(ctx, scalarString(cmd), shellOpts{})
			if err != nil || res.Retcode != 0 {
				ret.Result = False
				ret.Comment += "\ncheck_cmd determined the state failed"
				return
			}
		}
	}
}
