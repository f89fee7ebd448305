package state

import (
	"context"
	"fmt"

	"github.com/brine-project/brine/pkg/state/svc"
)

func init() {
	args := []Arg{
		{Name: "enable", Kind: Bool, Doc: "also enable (true) or disable (false) at boot"},
		{Name: "reload", Kind: Bool, Default: false, Doc: "mod_watch reloads instead of restarting"},
	}
	Default.Register(&Func{Name: "service.running", Doc: "Ensure a service is running (and optionally enabled).", Args: args, Run: serviceRunning, ModWatch: serviceModWatch})
	Default.Register(&Func{Name: "service.dead", Doc: "Ensure a service is stopped (and optionally disabled).", Args: args, Run: serviceDead, ModWatch: serviceModWatch})
	Default.Register(&Func{Name: "service.enabled", Doc: "Ensure a service starts at boot.", Run: serviceEnable(true)})
	Default.Register(&Func{Name: "service.disabled", Doc: "Ensure a service does not start at boot.", Run: serviceEnable(false)})
}

func (c *Call) services() (svc.Manager, error) {
	if c.e.deps.Services != nil {
		return c.e.deps.Services, nil
	}
	return svc.Detect()
}

// serviceState brings name to the wanted running state and enable setting.
func serviceState(ctx context.Context, c *Call, wantRunning bool) Ret {
	m, err := c.services()
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	name := c.Name
	if ok, err := m.Available(ctx, name); err != nil || !ok {
		return Ret{Result: False, Comment: fmt.Sprintf("The named service %s is not available", name)}
	}
	running, err := m.Running(ctx, name)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	ch := map[string]any{}
	var msgs []string
	action, verb := "start", "Started"
	if !wantRunning {
		action, verb = "stop", "Stopped"
	}
	if running != wantRunning {
		ch[name] = true
		msgs = append(msgs, fmt.Sprintf("Service %s is set to %s", name, action))
		if !c.Test {
			if err := m.Do(ctx, action, name); err != nil {
				return Ret{Result: False, Comment: err.Error()}
			}
			now, err := m.Running(ctx, name)
			if err != nil || now != wantRunning {
				return Ret{Result: False, Changes: map[string]any{}, Comment: fmt.Sprintf("Service %s failed to %s", name, action)}
			}
			msgs[len(msgs)-1] = fmt.Sprintf("%s service %s", verb, name)
		}
	} else {
		state := "running"
		if !wantRunning {
			state = "dead"
		}
		msgs = append(msgs, fmt.Sprintf("The service %s is already %s", name, state))
	}
	if c.Args.Has("enable") {
		r := setEnabled(ctx, c, m, c.Args.Bool("enable"))
		if r.Result == False {
			return r
		}
		for k, v := range r.Changes {
			ch[k] = v
		}
		msgs = append(msgs, r.Comment)
	}
	ret := Ret{Result: True, Changes: ch, Comment: joinLines(msgs)}
	if c.Test && len(ch) > 0 {
		ret.Result = None
	}
	return ret
}

func joinLines(l []string) string {
	out := ""
	for i, s := range l {
		if i > 0 {
			out += "\n"
		}
		out += s
	}
	return out
}

// setEnabled enables or disables name; changes use Salt's {name: true}.
func setEnabled(ctx context.Context, c *Call, m svc.Manager, want bool) Ret {
	name := c.Name
	on, err := m.Enabled(ctx, name)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	word := map[bool]string{true: "enabled", false: "disabled"}[want]
	if on == want {
		return Ret{Result: True, Comment: fmt.Sprintf("Service %s is already %s", name, word)}
	}
	if c.Test {
		return Ret{Result: None, Changes: map[string]any{name: true}, Comment: fmt.Sprintf("Service %s set to be %s", name, word)}
	}
	action := map[bool]string{true: "enable", false: "disable"}[want]
	if err := m.Do(ctx, action, name); err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	return Ret{Result: True, Changes: map[string]any{name: true}, Comment: fmt.Sprintf("Service %s has been %s", name, word)}
}

func serviceRunning(ctx context.Context, c *Call) Ret { return serviceState(ctx, c, true) }
func serviceDead(ctx context.Context, c *Call) Ret    { return serviceState(ctx, c, false) }

func serviceEnable(want bool) func(ctx context.Context, c *Call) Ret {
	return func(ctx context.Context, c *Call) Ret {
		m, err := c.services()
		if err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		if ok, err := m.Available(ctx, c.Name); err != nil || !ok {
			return Ret{Result: False, Comment: fmt.Sprintf("The named service %s is not available", c.Name)}
		}
		return setEnabled(ctx, c, m, want)
	}
}

// serviceModWatch restarts (or reloads) a running service after a watched
// state changed, and starts or stops it as its state asks otherwise.
func serviceModWatch(ctx context.Context, c *Call) Ret {
	m, err := c.services()
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	name := c.Name
	running, err := m.Running(ctx, name)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	var action, past string
	switch {
	case c.SFun == "dead":
		if !running {
			return Ret{Result: True, Comment: fmt.Sprintf("Service %s is already stopped", name)}
		}
		action, past = "stop", "stopped"
	case c.SFun == "running" && running && c.Args.Bool("reload"):
		action, past = "reload", "reloaded"
	case c.SFun == "running" && running:
		action, past = "restart", "restarted"
	case c.SFun == "running":
		action, past = "start", "started"
	default:
		return Ret{Result: False, Comment: fmt.Sprintf("Unable to trigger watch for service.%s", c.SFun)}
	}
	if c.Test {
		return Ret{Result: None, Changes: map[string]any{name: true}, Comment: fmt.Sprintf("Service is set to be %s", past)}
	}
	if err := m.Do(ctx, action, name); err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	return Ret{Result: True, Changes: map[string]any{name: true}, Comment: fmt.Sprintf("Service %s", past)}
}
