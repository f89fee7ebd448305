package state

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

func init() {
	Default.Register(&Func{
		Name: "module.run",
		Doc:  "Call execution functions: new style `- service.restart: [{name: nginx}]`, or legacy `name: service.restart` with its arguments.",
		// The arguments are function names and their arguments.
		VarKwargs: true,
		Run:       moduleRun,
		ModWatch:  moduleRun,
	})
}

type modCall struct {
	fun    string
	args   []any
	kwargs map[string]any
}

// moduleCalls reads module.run's two syntaxes into calls.
func moduleCalls(c *Call) ([]modCall, error) {
	var calls []modCall
	keys := make([]string, 0, len(c.Args.Extra))
	for k := range c.Args.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !strings.Contains(k, ".") {
			continue
		}
		mc := modCall{fun: k, kwargs: map[string]any{}}
		for _, v := range asList(c.Args.Extra[k]) {
			if m, ok := v.(map[string]any); ok && len(m) == 1 {
				for kk, vv := range m {
					mc.kwargs[kk] = vv
				}
				continue
			}
			mc.args = append(mc.args, v)
		}
		calls = append(calls, mc)
	}
	if len(calls) > 0 {
		return calls, nil
	}
	// Legacy: name is the function, the other arguments its keywords;
	// m_name stands for the function's own name argument.
	if !strings.Contains(c.Name, ".") {
		return nil, fmt.Errorf("module.run: no function given (use `- mod.fun: [args]`)")
	}
	mc := modCall{fun: c.Name, kwargs: map[string]any{}}
	for k, v := range c.Args.Extra {
		switch k {
		case "args":
			mc.args = asList(v)
		case "kwargs":
			if m, ok := v.(map[string]any); ok {
				for kk, vv := range m {
					mc.kwargs[kk] = vv
				}
			}
		case "m_name":
			mc.kwargs["name"] = v
		default:
			mc.kwargs[strings.TrimPrefix(k, "m_")] = v
		}
	}
	return []modCall{mc}, nil
}

func moduleRun(ctx context.Context, c *Call) Ret {
	calls, err := moduleCalls(c)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if c.Test {
		var names []string
		for _, mc := range calls {
			names = append(names, mc.fun)
		}
		return Ret{Result: None, Comment: fmt.Sprintf("Function %s to be executed.", strings.Join(names, ", "))}
	}
	caller := c.e.deps.Caller
	if caller == nil {
		return Ret{Result: False, Comment: "module.run: no execution module caller configured"}
	}
	ret := Ret{Result: True, Changes: map[string]any{}}
	var msgs []string
	for _, mc := range calls {
		v, err := caller.Call(ctx, mc.fun, mc.args, mc.kwargs)
		if err != nil {
			ret.Result = False
			msgs = append(msgs, fmt.Sprintf("%s: %v", mc.fun, err))
			continue
		}
		ret.Changes[mc.fun] = v
		if failedReturn(v) {
			ret.Result = False
			msgs = append(msgs, fmt.Sprintf("%s: failed", mc.fun))
			continue
		}
		msgs = append(msgs, fmt.Sprintf("%s: Success", mc.fun))
	}
	ret.Comment = strings.Join(msgs, ", ")
	return ret
}

// failedReturn recognises a function's failure in its value, as Salt's
// module.run does: a dict with result False or a non-zero retcode.
func failedReturn(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	if r, ok := m["result"].(bool); ok && !r {
		return true
	}
	if rc, ok := number(m["retcode"]); ok && rc != 0 {
		return true
	}
	return false
}
