// Package svc is the service-manager backend of the service states and
// execution functions: systemd through systemctl. Detect refuses, with a
// clear error, on a system where systemd is not running as PID 1 (a
// container, a chroot), since systemctl would then fail or lie.
package svc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// ErrNoServiceManager means no supported service manager runs here.
var ErrNoServiceManager = errors.New("svc: no running service manager")

// Manager starts, stops and inspects services.
type Manager interface {
	Available(ctx context.Context, name string) (bool, error)
	Running(ctx context.Context, name string) (bool, error)
	Enabled(ctx context.Context, name string) (bool, error)
	// Do runs an action: start, stop, restart, reload, enable, disable.
	Do(ctx context.Context, action, name string) error
}

// Detect returns the systemd manager when systemd is PID 1.
func Detect() (Manager, error) {
	comm, err := os.ReadFile("/proc/1/comm")
	pid1 := strings.TrimSpace(string(comm))
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read /proc/1/comm: %v", ErrNoServiceManager, err)
	}
	if pid1 != "systemd" {
		return nil, fmt.Errorf("%w: systemd is not running as PID 1 (PID 1 is %q); service states need systemd booted as init", ErrNoServiceManager, pid1)
	}
	if _, err := exec.LookPath("systemctl"); err != nil {
		return nil, fmt.Errorf("%w: systemctl not found", ErrNoServiceManager)
	}
	return Systemd{}, nil
}

// Systemd drives systemd units with systemctl.
type Systemd struct{}

// Unit returns the unit name: "nginx" → "nginx.service".
func Unit(name string) string {
	if strings.Contains(name, ".") && !strings.HasSuffix(name, ".") {
		for _, s := range []string{".service", ".socket", ".timer", ".target", ".mount", ".path"} {
			if strings.HasSuffix(name, s) {
				return name
			}
		}
	}
	return name + ".service"
}

func systemctl(ctx context.Context, args ...string) (string, int, error) {
	cmd := exec.CommandContext(ctx, "systemctl", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return strings.TrimSpace(out.String() + errb.String()), ee.ExitCode(), nil
	}
	if err != nil {
		return "", -1, fmt.Errorf("svc: systemctl %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(out.String()), 0, nil
}

// Available implements Manager.
func (Systemd) Available(ctx context.Context, name string) (bool, error) {
	out, _, err := systemctl(ctx, "show", "-p", "LoadState", "--value", Unit(name))
	if err != nil {
		return false, err
	}
	return out == "loaded", nil
}

// Running implements Manager.
func (Systemd) Running(ctx context.Context, name string) (bool, error) {
	_, code, err := systemctl(ctx, "is-active", "--quiet", Unit(name))
	return code == 0, err
}

// Enabled implements Manager.
func (Systemd) Enabled(ctx context.Context, name string) (bool, error) {
	out, _, err := systemctl(ctx, "is-enabled", Unit(name))
	if err != nil {
		return false, err
	}
	switch out {
	case "enabled", "enabled-runtime", "static", "alias", "indirect", "generated":
		return true, nil
	}
	return false, nil
}

// Do implements Manager.
func (Systemd) Do(ctx context.Context, action, name string) error {
	switch action {
	case "start", "stop", "restart", "reload", "enable", "disable":
	default:
		return fmt.Errorf("svc: unknown action %q", action)
	}
	out, code, err := systemctl(ctx, action, Unit(name))
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("svc: systemctl %s %s failed (exit %d): %s", action, Unit(name), code, out)
	}
	return nil
}
