package module

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brine-project/brine/pkg/state"
)

// stateRuntime is a fake minion runtime with a state system over a temp
// file root.
type stateRuntime struct{ deps state.Deps }

func (stateRuntime) Running() []JobInfo                                    { return nil }
func (stateRuntime) Kill(string) error                                     { return nil }
func (stateRuntime) RefreshGrains(context.Context) (map[string]any, error) { return nil, nil }
func (stateRuntime) RefreshPillar(context.Context) (map[string]any, error) { return nil, nil }
func (r stateRuntime) StateDeps() state.Deps                               { return r.deps }

func stateEnv(t *testing.T, files map[string]string) *Env {
	t.Helper()
	root := t.TempDir()
	for p, body := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deps := state.Deps{Files: state.DirFiles{Roots: map[string][]string{"base": {root}}}, Renderer: state.YAMLRenderer{}}
	return &Env{MinionID: "web1", JID: "20261122000000000001", Runtime: stateRuntime{deps}, Opts: map[string]any{}}
}

var stateTree = map[string]string{
	"top.sls":  "base:\n  'web*':\n    - web\n",
	"web.sls":  "w1: {test.succeed_with_changes: []}\nw2: {test.nop: []}\n",
	"bad.sls":  "b1: {test.fail_without_changes: []}\n",
	"cyc.sls":  "a:\n  test.nop:\n    - require: [b]\nb:\n  test.nop:\n    - require: [a]\n",
	"pill.sls": "p:\n  test.configurable_test_state:\n    - changes: false\n",
	"req.sls":  "r1: {test.nop: []}\nr2:\n  test.nop:\n    - require: [r1]\nr3: {test.nop: []}\n",
}

func TestStateFunctions(t *testing.T) {
	env := stateEnv(t, stateTree)
	ctx := context.Background()
	cases := []struct {
		name    string
		fun     string
		args    []any
		retcode int
		check   func(t *testing.T, ret any)
	}{
		{"apply no args is highstate", "state.apply", nil, 0, func(t *testing.T, ret any) {
			res := ret.(state.Results)
			if len(res) != 2 || res["test_|-w1_|-w1_|-succeed_with_changes"].Result != state.True {
				t.Fatalf("got %v", res.Tags())
			}
		}},
		{"apply list with test", "state.apply", []any{"web,pill", "test=True"}, 0, func(t *testing.T, ret any) {
			res := ret.(state.Results)
			if len(res) != 3 || res["test_|-w1_|-w1_|-succeed_with_changes"].Result != state.None {
				t.Fatalf("got %v", res.Tags())
			}
		}},
		{"failed state is retcode 2", "state.sls", []any{"bad"}, 2, nil},
		{"compile error is retcode 1 with messages", "state.sls", []any{"cyc"}, 1, func(t *testing.T, ret any) {
			l := ret.([]any)
			if len(l) == 0 || !strings.Contains(l[0].(string), "requisite cycle") {
				t.Fatalf("got %v", l)
			}
		}},
		{"missing sls", "state.sls", []any{"nope"}, 1, nil},
		{"single", "state.single", []any{"test.succeed_with_changes", "hello"}, 0, func(t *testing.T, ret any) {
			if _, ok := ret.(state.Results)["test_|-hello_|-hello_|-succeed_with_changes"]; !ok {
				t.Fatalf("got %v", ret)
			}
		}},
		{"test is apply with test=True", "state.test", []any{"web"}, 0, func(t *testing.T, ret any) {
			if r := ret.(state.Results)["test_|-w1_|-w1_|-succeed_with_changes"]; r == nil || r.Result != state.None {
				t.Fatalf("got %v", ret)
			}
		}},
		{"sls_id runs one ID and its requisites", "state.sls_id", []any{"r2", "req"}, 0, func(t *testing.T, ret any) {
			res := ret.(state.Results)
			if len(res) != 2 || res["test_|-r1_|-r1_|-nop"] == nil || res["test_|-r3_|-r3_|-nop"] != nil {
				t.Fatalf("got %v", res.Tags())
			}
		}},
		{"sls_id of a missing ID", "state.sls_id", []any{"nope", "req"}, 1, nil},
		{"show_top", "state.show_top", nil, 0, func(t *testing.T, ret any) {
			b, _ := json.Marshal(ret)
			if string(b) != `{"base":["web"]}` {
				t.Fatalf("got %s", b)
			}
		}},
		{"show_sls", "state.show_sls", []any{"web"}, 0, func(t *testing.T, ret any) {
			b, _ := json.Marshal(ret)
			if !strings.HasPrefix(string(b), `{"w1":{"test":["succeed_with_changes",{"order":10000}],"__sls__":"web","__env__":"base"}`) {
				t.Fatalf("got %s", b)
			}
		}},
		{"show_lowstate", "state.show_lowstate", nil, 0, func(t *testing.T, ret any) {
			l := ret.([]any)
			if len(l) != 2 {
				t.Fatalf("got %v", l)
			}
			b, _ := json.Marshal(l[0])
			if !strings.Contains(string(b), `"state":"test","__id__":"w1","name":"w1","fun":"succeed_with_changes"`) {
				t.Fatalf("got %s", b)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Default.Call(ctx, env, tc.fun, tc.args, nil)
			ret, code := RetcodeOf(v, err)
			if code != tc.retcode {
				t.Fatalf("retcode %d, want %d (%v)", code, tc.retcode, ret)
			}
			if tc.check != nil {
				tc.check(t, ret)
			}
		})
	}
}

func TestStateQueue(t *testing.T) {
	env := stateEnv(t, stateTree)
	release, err := state.LockFor(env.MinionID).TryAcquire("20261122000000000099", "state.apply")
	// Another minion in the same process is not blocked.
	other := stateEnv(t, stateTree)
	other.MinionID = "web2"
	if v, err := Default.Call(context.Background(), other, "state.sls", []any{"web"}, nil); err != nil {
		t.Fatal(err)
	} else if _, code := RetcodeOf(v, err); code != 0 {
		t.Fatalf("web2 blocked by web1's run: %v", v)
	}
	if err != nil {
		t.Fatal(err)
	}
	v, err := Default.Call(context.Background(), env, "state.sls", []any{"web"}, nil)
	ret, code := RetcodeOf(v, err)
	if code != 1 || !strings.Contains(ret.([]any)[0].(string), "with jid 20261122000000000099") {
		t.Fatalf("want refusal naming the running jid, got %d %v", code, ret)
	}
	// queue=True waits: with the lock held it only returns when its
	// context ends.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Default.Call(ctx, env, "state.sls", []any{"web"}, map[string]any{"queue": true})
		done <- err
	}()
	cancel()
	if err := <-done; err == nil {
		t.Fatal("queued run should have waited and then stopped with its context")
	}
	go func() {
		v, err := Default.Call(context.Background(), env, "state.sls", []any{"web"}, map[string]any{"queue": true})
		_, code := RetcodeOf(v, err)
		if code != 0 {
			err = context.Canceled
		}
		done <- err
	}()
	release()
	if err := <-done; err != nil {
		t.Fatalf("queued run after release: %v", err)
	}
}

func TestStateNeedsProvider(t *testing.T) {
	_, err := Default.Call(context.Background(), &Env{}, "state.apply", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "no state system") {
		t.Fatalf("got %v", err)
	}
}
