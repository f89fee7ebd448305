package module

import (
	"context"

	"github.com/brine-project/brine/pkg/state/svc"
)

// Service execution functions on systemd (pkg/state/svc); they fail with a
// clear error where systemd is not PID 1.

func init() {
	name := []Arg{{Name: "name", Kind: String, Required: true, Doc: "service (unit) name"}}
	for _, action := range []string{"start", "stop", "restart", "reload", "enable", "disable"} {
		Default.Register(&Func{Name: "service." + action, Doc: "Run systemctl " + action + " on the service; return True.", Args: name,
			Run: func(ctx context.Context, _ *Env, a *Args) (any, error) {
				m, err := svc.Detect()
				if err != nil {
					return nil, err
				}
				if err := m.Do(ctx, action, a.String("name")); err != nil {
					return nil, err
				}
				return true, nil
			}})
	}
	query := func(f func(m svc.Manager, ctx context.Context, n string) (bool, error)) func(ctx context.Context, _ *Env, a *Args) (any, error) {
		return func(ctx context.Context, _ *Env, a *Args) (any, error) {
			m, err := svc.Detect()
			if err != nil {
				return nil, err
			}
			return f(m, ctx, a.String("name"))
		}
	}
	Default.Register(&Func{Name: "service.status", Doc: "Return True when the service is running.", Args: name, Run: query(svc.Manager.Running)})
	Default.Register(&Func{Name: "service.enabled", Doc: "Return True when the service starts at boot.", Args: name, Run: query(svc.Manager.Enabled)})
	Default.Register(&Func{Name: "service.disabled", Doc: "Return True when the service does not start at boot.", Args: name,
		Run: query(func(m svc.Manager, ctx context.Context, n string) (bool, error) {
			on, err := m.Enabled(ctx, n)
			return !on, err
		})})
	Default.Register(&Func{Name: "service.available", Doc: "Return True when the service exists.", Args: name, Run: query(svc.Manager.Available)})
}
