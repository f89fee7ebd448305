package module

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/grains"
)

// call runs a function of Default and applies RetcodeOf, as the minion does.
func call(t *testing.T, env *Env, name string, args []any, kw map[string]any) (any, int, error) {
	t.Helper()
	v, err := Default.Call(context.Background(), env, name, args, kw)
	ret, code := RetcodeOf(v, err)
	return ret, code, err
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

// funcCase is one table row: a call and what it must give.
type funcCase struct {
	name    string
	fun     string
	args    []any
	kw      map[string]any
	want    string // JSON of the return, when set
	retcode int
	errIs   error  // expected error class
	errHas  string // substring of the error
}

func runCases(t *testing.T, env *Env, cases []funcCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ret, code, err := call(t, env, tc.fun, tc.args, tc.kw)
			if tc.errIs != nil || tc.errHas != "" {
				if err == nil {
					t.Fatalf("%s: no error, returned %s", tc.fun, js(ret))
				}
				if tc.errIs != nil && !errors.Is(err, tc.errIs) {
					t.Errorf("error %v is not %v", err, tc.errIs)
				}
				if !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("error %q does not mention %q", err, tc.errHas)
				}
				if code == 0 {
					t.Errorf("retcode 0 for an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.fun, err)
			}
			if tc.want != "" && js(ret) != tc.want {
				t.Errorf("%s returned %s, want %s", tc.fun, js(ret), tc.want)
			}
			if code != tc.retcode {
				t.Errorf("retcode %d, want %d", code, tc.retcode)
			}
		})
	}
}

func TestTestFuncs(t *testing.T) {
	t.Parallel()
	runCases(t, nil, []funcCase{
		{name: "ping", fun: "test.ping", want: "true"},
		{name: "true", fun: "test.true", want: "true"},
		{name: "false", fun: "test.false", want: "false"},
		{name: "echo", fun: "test.echo", args: []any{"hello"}, want: `"hello"`},
		{name: "echo number becomes string", fun: "test.echo", args: []any{int64(5)}, want: `"5"`},
		{name: "echo missing text", fun: "test.echo", errIs: ErrBadArgs, errHas: `"text"`},
		{name: "echo too many", fun: "test.echo", args: []any{"a", "b"}, errIs: ErrBadArgs, errHas: "at most 1"},
		{name: "version", fun: "test.version", want: js(grains.Version)},
		{name: "arg", fun: "test.arg", args: []any{"a", int64(1), "k=v"}, kw: map[string]any{"x": true},
			want: `{"args":["a",1],"kwargs":{"k":"v","x":true}}`},
		{name: "arg empty", fun: "test.arg", want: `{"args":[],"kwargs":{}}`},
		{name: "sleep zero", fun: "test.sleep", args: []any{"0"}, want: "true"},
		{name: "sleep bad length", fun: "test.sleep", args: []any{"soon"}, errIs: ErrBadArgs, errHas: `"length"`},
		{name: "sleep negative", fun: "test.sleep", args: []any{-1.0}, errIs: ErrBadArgs, errHas: `"length"`},
		{name: "retcode", fun: "test.retcode", args: []any{int64(3)}, want: "true", retcode: 3},
		{name: "exception", fun: "test.exception", args: []any{"boom"}, errHas: "boom"},
		{name: "unknown function", fun: "test.nope", errIs: ErrUnknownFunction, errHas: "test.nope"},
	})
}

func TestSleepHonoursCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Default.Call(ctx, nil, "test.sleep", []any{3600.0}, nil)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("test.sleep after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("test.sleep did not stop on cancel")
	}
}

func TestRetcodeOf(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		v    any
		err  error
		want string
		code int
	}{
		{"plain", "x", nil, `"x"`, 0},
		{"result", Result{Return: "out", Retcode: 2}, nil, `"out"`, 2},
		{"result pointer", &Result{Return: 1, Retcode: 0}, nil, `1`, 0},
		{"nil result pointer", (*Result)(nil), nil, `null`, 0},
		{"result false", map[string]any{"result": false}, nil, `{"result":false}`, 1},
		{"success false", map[string]any{"success": false}, nil, `{"success":false}`, 1},
		{"result true", map[string]any{"result": true}, nil, `{"result":true}`, 0},
		{"error", nil, errors.New("module: bad"), `"module: bad"`, 1},
		{"retcode error", nil, &RetcodeError{Retcode: 7, Err: errors.New("x")}, `"x"`, 7},
		{"unknown function", nil, fmt.Errorf("%w: %q", ErrUnknownFunction, "a.b"), "", 254},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, code := RetcodeOf(tc.v, tc.err)
			if tc.want != "" && js(v) != tc.want {
				t.Errorf("return %s, want %s", js(v), tc.want)
			}
			if code != tc.code {
				t.Errorf("retcode %d, want %d", code, tc.code)
			}
		})
	}
}

func TestGrainsFuncs(t *testing.T) {
	t.Parallel()
	env := &Env{Grains: map[string]any{
		"os": "Debian", "num_cpus": 2,
		"ip_interfaces": map[string]any{"eth0": []any{"10.0.0.5"}},
		"a":             map[string]any{"b": map[string]any{"c": "deep"}},
	}}
	runCases(t, env, []funcCase{
		{name: "items", fun: "grains.items", want: js(env.Grains)},
		{name: "item", fun: "grains.item", args: []any{"os", "a:b:c", "nope"}, want: `{"a:b:c":"deep","nope":"","os":"Debian"}`},
		{name: "item default", fun: "grains.item", args: []any{"nope"}, kw: map[string]any{"default": "x"}, want: `{"nope":"x"}`},
		{name: "item delimiter", fun: "grains.item", args: []any{"a.b.c", "delimiter=."}, want: `{"a.b.c":"deep"}`},
		{name: "item bad name", fun: "grains.item", args: []any{[]any{"x"}}, errIs: ErrBadArgs, errHas: "grain name 1"},
		{name: "get", fun: "grains.get", args: []any{"os"}, want: `"Debian"`},
		{name: "get nested", fun: "grains.get", args: []any{"ip_interfaces:eth0:0"}, want: `"10.0.0.5"`},
		{name: "get default", fun: "grains.get", args: []any{"missing", "fallback"}, want: `"fallback"`},
		{name: "get missing empty", fun: "grains.get", args: []any{"missing"}, want: `""`},
		{name: "get delimiter", fun: "grains.get", args: []any{"a/b/c"}, kw: map[string]any{"delimiter": "/"}, want: `"deep"`},
		{name: "get needs key", fun: "grains.get", errIs: ErrBadArgs, errHas: `"key"`},
		{name: "ls", fun: "grains.ls", want: `["a","ip_interfaces","num_cpus","os"]`},
		{name: "has_value", fun: "grains.has_value", args: []any{"a:b"}, want: "true"},
		{name: "has_value missing", fun: "grains.has_value", args: []any{"a:x"}, want: "false"},
	})
	runCases(t, nil, []funcCase{{name: "items without grains", fun: "grains.items", want: "{}"}})
}

func TestSysFuncs(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	r.Register(&Func{Name: "x.one", Doc: "One.", Args: []Arg{{Name: "a", Kind: String, Required: true, Doc: "first"},
		{Name: "b", Kind: Int, Default: int64(3)}}, Run: func(context.Context, *Env, *Args) (any, error) { return 1, nil }})
	r.Register(&Func{Name: "x.two", Doc: "Two.", Varargs: true, VarKwargs: true, Run: func(context.Context, *Env, *Args) (any, error) { return 2, nil }})
	r.Register(&Func{Name: "y.three", Doc: "Three.", Run: func(context.Context, *Env, *Args) (any, error) { return 3, nil }})
	for _, n := range Default.Names("sys.") {
		f, _ := Default.Lookup(n)
		r.Register(f)
	}
	env := &Env{Registry: r}
	cases := []funcCase{
		{name: "list_functions all", fun: "sys.list_functions", want: js(r.Names(""))},
		{name: "list_functions module", fun: "sys.list_functions", args: []any{"x"}, want: `["x.one","x.two"]`},
		{name: "list_functions module dot", fun: "sys.list_functions", args: []any{"y."}, want: `["y.three"]`},
		{name: "list_functions glob", fun: "sys.list_functions", args: []any{"*.t*"}, want: `["x.two","y.three"]`},
		{name: "list_functions exact", fun: "sys.list_functions", args: []any{"x.one"}, want: `["x.one"]`},
		{name: "list_functions bad selector", fun: "sys.list_functions", args: []any{int64(1)}, errIs: ErrBadArgs, errHas: "selector 1"},
		{name: "list_modules", fun: "sys.list_modules", want: `["sys","x","y"]`},
		{name: "list_modules glob", fun: "sys.list_modules", args: []any{"[xy]"}, want: `["x","y"]`},
		{name: "doc", fun: "sys.doc", args: []any{"y"}, want: `{"y.three":"Three."}`},
		{name: "doc with args", fun: "sys.doc", args: []any{"x.one"},
			want: js(map[string]string{"x.one": "One.\n\nArguments:\n  a (string, required): first\n  b (int, default 3)"})},
		{name: "argspec", fun: "sys.argspec", args: []any{"x"},
			want: `{"x.one":{"args":["a","b"],"defaults":[3],"kwargs":null,"varargs":null},"x.two":{"args":[],"defaults":null,"kwargs":"kwargs","varargs":"args"}}`},
	}
	runCasesOn(t, r, env, cases)
	if _, _, err := call(t, nil, "sys.list_functions", []any{"cmd"}, nil); err != nil {
		t.Fatal(err)
	}
	v, _, _ := call(t, nil, "sys.list_functions", []any{"cmd"}, nil)
	if js(v) != `["cmd.retcode","cmd.run","cmd.run_all","cmd.run_stderr","cmd.run_stdout"]` {
		t.Errorf("Default cmd functions: %s", js(v))
	}
}

// runCasesOn is runCases through another registry.
func runCasesOn(t *testing.T, r *Registry, env *Env, cases []funcCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := r.Call(context.Background(), env, tc.fun, tc.args, tc.kw)
			if tc.errIs != nil {
				if !errors.Is(err, tc.errIs) || !strings.Contains(fmt.Sprint(err), tc.errHas) {
					t.Fatalf("error %v, want %v mentioning %q", err, tc.errIs, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if js(v) != tc.want {
				t.Errorf("%s returned %s, want %s", tc.fun, js(v), tc.want)
			}
		})
	}
}

// fakeRuntime is a minion runtime with a fixed set of running jobs.
type fakeRuntime struct {
	mu        sync.Mutex // guards jobs, refreshes
	jobs      []JobInfo
	refreshes int
}

func (f *fakeRuntime) Running() []JobInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]JobInfo(nil), f.jobs...)
}

func (f *fakeRuntime) Kill(jid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, j := range f.jobs {
		if j.JID == jid {
			f.jobs = append(f.jobs[:i], f.jobs[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("fake: job %s not running", jid)
}

func (f *fakeRuntime) RefreshGrains(context.Context) (map[string]any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshes++
	return map[string]any{}, nil
}

func (f *fakeRuntime) RefreshPillar(context.Context) (map[string]any, error) {
	return nil, errors.New("fake: no pillar")
}

func TestSaltutilFuncs(t *testing.T) {
	t.Parallel()
	rt := &fakeRuntime{jobs: []JobInfo{{JID: "1", Fun: "test.sleep", Arg: []any{10.0}, PID: 42, Start: "2026-01-01T00:00:00Z"}}}
	env := &Env{Runtime: rt}
	runCases(t, env, []funcCase{
		{name: "running", fun: "saltutil.running", want: `[{"arg":[10],"fun":"test.sleep","jid":"1","pid":42,"start":"2026-01-01T00:00:00Z"}]`},
		{name: "find_job", fun: "saltutil.find_job", args: []any{"1"}, want: `{"arg":[10],"fun":"test.sleep","jid":"1","pid":42,"start":"2026-01-01T00:00:00Z"}`},
		{name: "find_job absent", fun: "saltutil.find_job", args: []any{"2"}, want: `{}`},
		{name: "find_job needs jid", fun: "saltutil.find_job", errIs: ErrBadArgs, errHas: `"jid"`},
		{name: "kill_job unknown", fun: "saltutil.kill_job", args: []any{"9"}, errHas: "not running"},
		{name: "kill_job", fun: "saltutil.kill_job", args: []any{"1"}, want: `"Signal 9 sent to job 1 at pid 42"`},
		{name: "running after kill", fun: "saltutil.running", want: `[]`},
		{name: "refresh_grains", fun: "saltutil.refresh_grains", want: "true"},
		{name: "refresh_grains with pillar error", fun: "saltutil.refresh_grains", kw: map[string]any{"refresh_pillar": true}, errHas: "no pillar"},
		{name: "sync_all", fun: "saltutil.sync_all", retcode: 0},
		{name: "refresh_pillar error", fun: "saltutil.refresh_pillar", errHas: "no pillar"},
	})
	if rt.refreshes != 2 {
		t.Errorf("RefreshGrains called %d times, want 2", rt.refreshes)
	}
	for fun, args := range map[string][]any{
		"saltutil.running": nil, "saltutil.find_job": {"1"}, "saltutil.kill_job": {"1"}, "saltutil.refresh_grains": nil, "saltutil.refresh_pillar": nil,
	} {
		t.Run("no runtime "+fun, func(t *testing.T) {
			if _, _, err := call(t, &Env{}, fun, args, nil); !errors.Is(err, ErrNoRuntime) {
				t.Errorf("%s without runtime: %v, want ErrNoRuntime", fun, err)
			}
		})
	}
	v, _, _ := call(t, nil, "saltutil.sync_all", nil, nil)
	if m, ok := v.(map[string]any); !ok || len(m["modules"].([]any)) != 0 {
		t.Errorf("sync_all = %s", js(v))
	}
}

func TestKwOnlyAndLeadingZero(t *testing.T) {
	t.Parallel()
	f := &Func{Name: "k.f", Varargs: true, Args: []Arg{{Name: "p", Kind: String}, {Name: "k", Kind: Int, KwOnly: true, Default: int64(1)}}}
	a, err := Bind(f, []any{"x", "y", "k=0755"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.String("p") != "x" || js(a.Extra) != `["y"]` || a.Int("k") != 755 {
		t.Errorf("bound p=%q extra=%s k=%d", a.String("p"), js(a.Extra), a.Int("k"))
	}
	for in, want := range map[string]any{"0644": int64(644), "00": int64(0), "0": int64(0), "0x1f": int64(31), "0.5": 0.5, "012a": "012a"} {
		if got := ParseValue(in); js(got) != js(want) {
			t.Errorf("ParseValue(%q) = %#v, want %#v", in, got, want)
		}
	}
}
