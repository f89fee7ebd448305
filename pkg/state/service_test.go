package state

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/brine-project/brine/pkg/state/svc"
)

func pid1() string {
	b, _ := os.ReadFile("/proc/1/comm")
	return strings.TrimSpace(string(b))
}

const svcSLS = `
conf:
  test.succeed_with_changes: []
unit:
  service.running:
    - name: NAME
    - enable: true
    - watch:
      - test: conf
`

// TestServiceRefusedWithoutSystemd runs where systemd is not PID 1 (a
// container): service states must fail with a message saying why.
func TestServiceRefusedWithoutSystemd(t *testing.T) {
	if pid1() == "systemd" {
		t.Skip("systemd is PID 1 here; TestServiceSystemd covers it")
	}
	if _, err := svc.Detect(); err == nil || !strings.Contains(err.Error(), "not running as PID 1") {
		t.Fatalf("Detect: %v", err)
	}
	for _, fun := range []string{"service.running", "service.dead", "service.enabled", "service.disabled"} {
		t.Run(fun, func(t *testing.T) {
			res, err := applyTree(t, map[string]string{"s.sls": "u:\n  " + fun + ":\n    - name: cron\n"}, Options{}, "s")
			if err != nil {
				t.Fatal(err)
			}
			r := byID(res, "u")
			if r.Result != False || !strings.Contains(r.Comment, "systemd is not running as PID 1") {
				t.Fatalf("got %v %q", r.Result, r.Comment)
			}
		})
	}
}

// TestServiceSystemd manages a real unit where systemd runs.
func TestServiceSystemd(t *testing.T) {
	if pid1() != "systemd" || os.Geteuid() != 0 {
		t.Skip("needs systemd as PID 1 and root")
	}
	const unit = "brine-test-svc"
	path := "/etc/systemd/system/" + unit + ".service"
	if err := os.WriteFile(path, []byte("[Unit]\nDescription=brine test\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exec.Command("systemctl", "daemon-reload").Run()
	t.Cleanup(func() {
		exec.Command("systemctl", "disable", "--now", unit).Run()
		os.Remove(path)
		exec.Command("systemctl", "daemon-reload").Run()
	})
	res, err := applyTree(t, map[string]string{"s.sls": strings.ReplaceAll(svcSLS, "NAME", unit)}, Options{}, "s")
	if err != nil {
		t.Fatal(err)
	}
	if r := byID(res, "unit"); r.Result != True || r.Changes[unit] != true {
		t.Fatalf("first: %+v", r)
	}
	res, err = applyTree(t, map[string]string{"s.sls": strings.ReplaceAll(svcSLS, "NAME", unit)}, Options{}, "s")
	if err != nil {
		t.Fatal(err)
	}
	if r := byID(res, "unit"); r.Result != True || !strings.Contains(r.Comment, "restarted") {
		t.Fatalf("watch should restart: %+v", r)
	}
	res, err = applyTree(t, map[string]string{"s.sls": "u:\n  service.dead:\n    - name: " + unit + "\n    - enable: false\n"}, Options{}, "s")
	if err != nil {
		t.Fatal(err)
	}
	if r := byID(res, "u"); r.Result != True || len(r.Changes) == 0 {
		t.Fatalf("dead: %+v", r)
	}
}

// fakeServices records actions, for the state logic (not the backend).
type fakeServices struct {
	running, enabled map[string]bool
	actions          []string
}

func (f *fakeServices) Available(_ context.Context, n string) (bool, error) { return n != "ghost", nil }
func (f *fakeServices) Running(_ context.Context, n string) (bool, error)   { return f.running[n], nil }
func (f *fakeServices) Enabled(_ context.Context, n string) (bool, error)   { return f.enabled[n], nil }
func (f *fakeServices) Do(_ context.Context, action, n string) error {
	f.actions = append(f.actions, action+" "+n)
	switch action {
	case "start", "restart":
		f.running[n] = true
	case "stop":
		f.running[n] = false
	case "enable":
		f.enabled[n] = true
	case "disable":
		f.enabled[n] = false
	}
	return nil
}

func TestServiceStateLogic(t *testing.T) {
	f := &fakeServices{running: map[string]bool{}, enabled: map[string]bool{}}
	files := writeTree(t, map[string]string{"s.sls": strings.ReplaceAll(svcSLS, "NAME", "web") + "gone:\n  service.running: [{name: ghost}]\n"})
	run := func(test bool) Results {
		res, err := New(nil, Deps{Files: files, Renderer: YAMLRenderer{}, Services: f}, Options{Test: test}).ApplySLS(context.Background(), "s")
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := run(true)
	if r := byID(res, "unit"); r.Result != None || len(f.actions) != 0 {
		t.Fatalf("test mode: %+v %v", r, f.actions)
	}
	res = run(false)
	if r := byID(res, "unit"); r.Result != True || strings.Join(f.actions, ",") != "start web,enable web" {
		t.Fatalf("first: %+v %v", r, f.actions)
	}
	if r := byID(res, "gone"); r.Result != False || !strings.Contains(r.Comment, "not available") {
		t.Fatalf("ghost: %+v", r)
	}
	f.actions = nil
	res = run(false)
	if r := byID(res, "unit"); r.Result != True || strings.Join(f.actions, ",") != "restart web" || r.Comment != "Service restarted" {
		t.Fatalf("watch: %+v %v", r, f.actions)
	}
}
