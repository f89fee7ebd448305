package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"github.com/brine-project/brine/pkg/output"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/api"
	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/events"
	"gopkg.in/yaml.v3"
)

const testToken = "test-admin-token"

type harness struct {
	fake *fakeMaster
	bus  *events.Bus
	url  string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	fake := newFakeMaster()
	bus := events.New(nil)
	h, err := api.New(api.Config{Backend: fake, Bus: bus, AdminToken: testToken,
		Tokens: []api.Token{{Name: "ci", TokenHash: api.HashToken("ci-token"),
			Permissions: []api.Permission{{Target: "web*", Functions: []string{`test\..*`}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { bus.Stop(); srv.Close() })
	return &harness{fake: fake, bus: bus, url: srv.URL}
}

type result struct {
	code           int
	stdout, stderr string
}

// ctl runs brinectl with args against the harness (BRINE_API and
// BRINE_TOKEN set unless env overrides them), stdout not a terminal.
func (h *harness) ctl(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return h.ctlTTY(t, false, env, args...)
}

func (h *harness) ctlTTY(t *testing.T, tty bool, env map[string]string, args ...string) result {
	t.Helper()
	e := map[string]string{"BRINE_API": h.url, "BRINE_TOKEN": testToken}
	for k, v := range env {
		e[k] = v
	}
	var out, errb bytes.Buffer
	code := run(t.Context(), args, func(k string) string { return e[k] }, &out, &errb, tty)
	return result{code, out.String(), errb.String()}
}

// runDoc is brinectl run's JSON document.
type runDoc struct {
	JID     string `json:"jid"`
	Returns map[string]struct {
		Return  any  `json:"return"`
		Retcode int  `json:"retcode"`
		Success bool `json:"success"`
	} `json:"returns"`
	NoReturn []types.NoReturnEntry `json:"no_return"`
}

// oneJSON decodes stdout as exactly one JSON document.
func oneJSON(t *testing.T, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, s)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON document:\n%s", s)
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		name     string
		args     []string
		code     int
		tgtType  string
		arg      []any
		kwarg    map[string]any
		returns  int
		noReturn []string
	}{
		{"ping all", []string{"run", "*", "test.ping"}, 0, "glob", nil, nil, 3, nil},
		{"pcre flag after target", []string{"run", "web.*", "-E", "test.ping"}, 0, "pcre", nil, nil, 2, nil},
		{"pcre flag before target", []string{"run", "-E", "web.*", "test.ping"}, 0, "pcre", nil, nil, 2, nil},
		{"grain with args and kwargs", []string{"run", "-G", "os:Debian", "cmd.run", "uname -a", "cwd=/tmp", "timeout=5", "env={\"A\": \"1\"}"}, 0, "grain",
			[]any{"uname -a"}, map[string]any{"cwd": "/tmp", "timeout": 5.0, "env": map[string]any{"A": "1"}}, 3, nil},
		{"list via -t", []string{"run", "-t", "list", "web1,web2", "test.echo", "hi there", "a=b c", "True", "[1, 2]"}, 0, "list",
			[]any{"hi there", true, []any{1.0, 2.0}}, map[string]any{"a": "b c"}, 2, nil},
		{"long tgt-type", []string{"--tgt-type=list", "web1", "test.ping"}, 0, "list", nil, nil, 1, nil},
		{"not a kwarg", []string{"run", "web1", "cmd.run", "echo a=b # not a comment"}, 0, "glob", []any{"echo a=b # not a comment"}, nil, 1, nil},
		{"after --", []string{"run", "web1", "cmd.run", "--", "-E"}, 0, "glob", []any{"-E"}, nil, 1, nil},
		{"failing command", []string{"run", "web*", "cmd.run", "false"}, 1, "glob", []any{false}, nil, 2, nil},
		{"minion down", []string{"run", "-L", "web1,down", "test.ping"}, 1, "list", nil, nil, 1, []string{"down"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if args[0] != "run" {
				args = append([]string{"run"}, args...)
			}
			r := h.ctl(t, nil, args...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d; stderr: %s", r.code, c.code, r.stderr)
			}
			var d runDoc
			oneJSON(t, r.stdout, &d)
			if d.JID == "" || len(d.Returns) != c.returns || len(d.NoReturn) != len(c.noReturn) {
				t.Fatalf("doc %+v", d)
			}
			for i, m := range c.noReturn {
				if d.NoReturn[i].Minion != m || d.NoReturn[i].Reason != types.NoReturnNotConnected {
					t.Fatalf("no_return %+v", d.NoReturn)
				}
			}
			req := h.fake.lastRequest()
			if req.TgtType != c.tgtType {
				t.Fatalf("tgt_type %q, want %q", req.TgtType, c.tgtType)
			}
			if !reflect.DeepEqual(req.Arg, c.arg) || !reflect.DeepEqual(req.Kwarg, c.kwarg) {
				t.Fatalf("arg %#v kwarg %#v, want %#v %#v", req.Arg, req.Kwarg, c.arg, c.kwarg)
			}
			if r.stderr != "" {
				t.Fatalf("stderr not empty when piped: %q", r.stderr)
			}
		})
	}
}

func TestUsageAndAPIErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		name   string
		env    map[string]string
		args   []string
		stderr string
	}{
		{"no command", nil, nil, "usage"},
		{"unknown command", nil, []string{"frobnicate"}, "unknown command"},
		{"run without fun", nil, []string{"run", "*"}, "TARGET and FUN"},
		{"two target types", nil, []string{"run", "-E", "-G", "x", "test.ping"}, "target type given twice"},
		{"unknown flag", nil, []string{"run", "--bogus", "*", "test.ping"}, "bogus"},
		{"bad out", nil, []string{"--out", "xml", "run", "*", "test.ping"}, "--out"},
		{"bad pillar", nil, []string{"run", "--pillar", "nope", "*", "test.ping"}, "--pillar"},
		{"bad fun", nil, []string{"run", "*", "ping"}, "fun"},
		{"bad api url", map[string]string{"BRINE_API": "localhost:8000"}, []string{"run", "*", "test.ping"}, "--api"},
		{"wrong token", map[string]string{"BRINE_TOKEN": "nope"}, []string{"run", "*", "test.ping"}, "HTTP 401"},
		{"acl refusal", map[string]string{"BRINE_TOKEN": "ci-token"}, []string{"run", "*", "cmd.run", "id"}, `"cmd.run"`},
		{"acl refusal of a minion", map[string]string{"BRINE_TOKEN": "ci-token"}, []string{"run", "*", "test.ping"}, `"db1"`},
		{"no match", nil, []string{"run", "nothing*", "test.ping"}, "HTTP 422"},
		{"unknown job", nil, []string{"job", "show", "123"}, "HTTP 404"},
		{"key without id", nil, []string{"key", "accept"}, "--all"},
		{"job list bad since", nil, []string{"job", "list", "--since", "soon"}, "--since"},
		{"state sls without names", nil, []string{"state", "sls", "*"}, "sls names"},
		{"master unreachable", map[string]string{"BRINE_API": "http://127.0.0.1:1"}, []string{"minion", "list"}, "connection refused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.ctl(t, c.env, c.args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want 2; stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, c.stderr) {
				t.Fatalf("stderr %q does not mention %q", r.stderr, c.stderr)
			}
			if r.stdout != "" {
				t.Fatalf("stdout not empty on error: %q", r.stdout)
			}
		})
	}
}

func TestTokenResolution(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "admin.token"), []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(other, []byte(testToken), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
	}{
		{"data dir admin token", map[string]string{"BRINE_TOKEN": "", "BRINE_DATA_DIR": dir}, nil, 0},
		{"--token-file", map[string]string{"BRINE_TOKEN": ""}, []string{"--token-file", other}, 0},
		{"BRINE_TOKEN_FILE", map[string]string{"BRINE_TOKEN": "", "BRINE_TOKEN_FILE": other}, nil, 0},
		{"--token beats env", map[string]string{"BRINE_TOKEN": "nope"}, []string{"--token", testToken}, 0},
		{"missing token file", map[string]string{"BRINE_TOKEN": ""}, []string{"--token-file", filepath.Join(dir, "none")}, 2},
		{"global flag after command", map[string]string{"BRINE_TOKEN": ""}, []string{"minion", "list", "--token", testToken}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{}, c.args...), "minion", "list")
			if c.name == "global flag after command" {
				args = c.args
			}
			r := h.ctl(t, c.env, args...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d: %s", r.code, c.code, r.stderr)
			}
		})
	}
}

func TestOutputFormats(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	t.Run("yaml", func(t *testing.T) {
		r := h.ctl(t, nil, "run", "--out", "yaml", "web1", "cmd.run", "uname -a")
		var d runDoc
		if err := yaml.Unmarshal([]byte(r.stdout), &d); err != nil || r.code != 0 {
			t.Fatalf("yaml %v exit %d:\n%s", err, r.code, r.stdout)
		}
		if d.Returns["web1"].Return != "Linux web1 6.1.0\nsecond line" {
			t.Fatalf("yaml doc %+v", d)
		}
	})
	t.Run("raw", func(t *testing.T) {
		r := h.ctl(t, nil, "run", "--out=raw", "-L", "web1,down", "test.ping")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 1 || len(lines) != 2 {
			t.Fatalf("raw exit %d:\n%s", r.code, r.stdout)
		}
		for _, l := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil || m["minion"] == nil {
				t.Fatalf("raw line %q: %v", l, err)
			}
		}
	})
	t.Run("tree on a terminal", func(t *testing.T) {
		r := h.ctlTTY(t, true, map[string]string{"NO_COLOR": "1"}, "run", "-L", "web1,web2,down", "cmd.run", "false")
		want := "web1:\n    Linux web1 6.1.0\n    second line\nweb2:\n\n    (retcode 1)\ndown:\n    Minion did not return. [Not connected]\n"
		if r.code != 1 || r.stdout != want {
			t.Fatalf("exit %d tree:\n%q\nwant\n%q", r.code, r.stdout, want)
		}
		if !strings.Contains(r.stderr, "3 expected, 1 succeeded, 1 failed, 1 no return") {
			t.Fatalf("summary %q", r.stderr)
		}
	})
	t.Run("colors on a terminal", func(t *testing.T) {
		r := h.ctlTTY(t, true, nil, "run", "web1", "test.ping")
		if !strings.Contains(r.stdout, cGreen+"web1:"+output.Reset) {
			t.Fatalf("no color: %q", r.stdout)
		}
		if r := h.ctlTTY(t, true, nil, "--no-color", "run", "web1", "test.ping"); strings.Contains(r.stdout, "\x1b[") {
			t.Fatalf("--no-color ignored: %q", r.stdout)
		}
	})
	t.Run("async", func(t *testing.T) {
		r := h.ctl(t, nil, "run", "--async", "*", "test.ping")
		var d struct {
			JID      string   `json:"jid"`
			Expected []string `json:"expected"`
		}
		oneJSON(t, r.stdout, &d)
		if r.code != 0 || d.JID == "" || len(d.Expected) != 3 {
			t.Fatalf("async exit %d %+v", r.code, d)
		}
		if r := h.ctl(t, nil, "--out", "table", "run", "--async", "*", "test.ping"); strings.TrimSpace(r.stdout) == "" || strings.Contains(r.stdout, "{") {
			t.Fatalf("async table should print the bare JID: %q", r.stdout)
		}
	})
}

func TestStateHighstate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.ctlTTY(t, true, map[string]string{"NO_COLOR": "1"}, "state", "apply", "web*", "web,motd", "test=True", "saltenv=prod", `pillar={"x": 1}`)
	if r.code != 1 {
		t.Fatalf("exit %d (web2 has a failed state): %s", r.code, r.stderr)
	}
	req := h.fake.lastRequest()
	if req.Fun != "state.apply" || !reflect.DeepEqual(req.Arg, []any{"web,motd"}) ||
		!reflect.DeepEqual(req.Kwarg, map[string]any{"test": true, "saltenv": "prod"}) || req.Pillar["x"] != 1.0 {
		t.Fatalf("request %+v", req)
	}
	out := r.stdout
	// Failures first: web2 (failed) before web1, and in web2 the failed
	// state before the changed one before the clean one.
	i2, i1 := strings.Index(out, "web2:"), strings.Index(out, "web1:")
	if i2 < 0 || i1 < 0 || i2 > i1 {
		t.Fatalf("web2 (failed) not first:\n%s", out)
	}
	web2 := out[i2:i1]
	fail, changed, clean := strings.Index(web2, "Service nginx failed"), strings.Index(web2, "File /etc/motd updated"), strings.Index(web2, "Name: vim")
	if fail < 0 || changed < 0 || clean < 0 || fail > changed || changed > clean {
		t.Fatalf("state order in web2:\n%s", web2)
	}
	for _, want := range []string{"Summary for web2", "Succeeded: 2 (changed=1)", "Failed:    1", "Total states run:     3", "Summary for web1", "Failed:    0"} {
		if !strings.Contains(out, want) {
			t.Fatalf("highstate output lacks %q:\n%s", want, out)
		}
	}
	// Piped, the same run is one JSON document.
	r = h.ctl(t, nil, "state", "highstate", "-L", "web1", "--async")
	if r.code != 0 || h.fake.lastRequest().Fun != "state.highstate" {
		t.Fatalf("highstate async exit %d %s", r.code, r.stderr)
	}
	r = h.ctl(t, nil, "state", "sls", "web1", "web")
	var d runDoc
	oneJSON(t, r.stdout, &d)
	if r.code != 0 || h.fake.lastRequest().Fun != "state.sls" {
		t.Fatalf("sls exit %d", r.code)
	}
}

func TestJobMinionKeyCommands(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	first := h.ctl(t, nil, "run", "web1", "test.ping")
	var d runDoc
	oneJSON(t, first.stdout, &d)
	h.ctl(t, nil, "run", "web*", "cmd.run", "false")

	steps := []struct {
		name string
		args []string
		code int
		want string // stdout must contain
	}{
		{"job list json", []string{"job", "list"}, 0, `"jobs"`},
		{"job list filter", []string{"job", "list", "--fun", "cmd.run", "--since", "1h", "--limit", "5"}, 0, `"cmd.run"`},
		{"job show", []string{"job", "show", d.JID}, 0, `"jid": "` + d.JID},
		{"job wait", []string{"job", "wait", d.JID}, 0, `"success": true`},
		{"minion list", []string{"minion", "list"}, 0, `"web2"`},
		{"minion show", []string{"minion", "show", "web1"}, 0, `"osrelease": "12"`},
		{"key list", []string{"key", "list", "--state", "pending"}, 0, `"new1"`},
		{"key finger master", []string{"key", "finger"}, 0, `"ff:ee"`},
		{"key finger one", []string{"key", "finger", "web1"}, 0, `"aa:bb:web1"`},
		{"key accept all", []string{"key", "accept", "--all"}, 0, `"accepted"`},
		{"key reject", []string{"key", "reject", "new1"}, 0, `"rejected"`},
		{"key delete", []string{"key", "delete", "new1"}, 0, `"deleted"`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := h.ctl(t, nil, s.args...)
			if r.code != s.code || !strings.Contains(r.stdout, s.want) {
				t.Fatalf("exit %d stdout:\n%s\nstderr: %s\nwant %q", r.code, r.stdout, r.stderr, s.want)
			}
			var v any
			oneJSON(t, r.stdout, &v)
		})
	}
	t.Run("job list table", func(t *testing.T) {
		r := h.ctl(t, nil, "--out", "table", "job", "list")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "JID") || !strings.Contains(r.stdout, "1/2 ok") {
			t.Fatalf("table:\n%s", r.stdout)
		}
	})
	t.Run("key list table", func(t *testing.T) {
		r := h.ctl(t, nil, "--out", "table", "key", "list")
		if r.code != 0 || !strings.Contains(r.stdout, "Accepted Keys:\ndb1\nweb1\nweb2\n") {
			t.Fatalf("table:\n%s", r.stdout)
		}
	})
}

func TestEventsCommand(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	env := map[string]string{"BRINE_API": h.url, "BRINE_TOKEN": testToken}
	code := make(chan int, 1)
	go func() {
		var errb bytes.Buffer
		code <- run(ctx, []string{"events", "--tag", "brine/hook/*"}, func(k string) string { return env[k] }, pw, &errb, false)
		pw.Close()
	}()
	// Publish until the stream delivers: the subscription is made by the
	// server when brinectl connects, which the test cannot observe.
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				h.bus.Publish("brine/job/1/new", nil) // filtered out
				h.bus.Publish("brine/hook/ci", map[string]string{"ok": "yes"})
			}
		}
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	var ev types.Event
	if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Tag != "brine/hook/ci" || string(ev.Data) != `{"ok":"yes"}` {
		t.Fatalf("event line %q: %v", line, err)
	}
	cancel()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d after interrupt", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("events did not stop on interrupt")
	}
}

func TestParseValue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want any
	}{
		{"5", int64(5)}, {"-2.5", -2.5}, {"1e3", 1000.0}, {"True", true}, {"false", false}, {"None", nil},
		{"uname -a", "uname -a"}, {"a: b", "a: b"}, {"x # y", "x # y"}, {"[1, two]", []any{1, "two"}},
		{"{a: 1}", map[string]any{"a": 1}}, {"{not closed", "{not closed"}, {"0x10", "0x10"}, {"inf", "inf"}, {"", ""},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			if got := parseValue(c.in); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("parseValue(%q) = %#v, want %#v", c.in, got, c.want)
			}
		})
	}
}

func TestInterruptedWaitNamesTheJob(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, cancel := context.WithCancel(t.Context())
	env := map[string]string{"BRINE_API": h.url, "BRINE_TOKEN": testToken}
	type res struct {
		code   int
		stderr string
	}
	done := make(chan res, 1)
	go func() {
		var out, errb bytes.Buffer
		c := run(ctx, []string{"run", "web1", "test.sleep", "60"}, func(k string) string { return env[k] }, &out, &errb, false)
		done <- res{c, errb.String()}
	}()
	var jid string
	select {
	case jid = <-h.fake.waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("brinectl is not waiting for the job")
	}
	cancel()
	select {
	case r := <-done:
		if r.code != exitUsage || !strings.Contains(r.stderr, "brinectl job wait "+jid) {
			t.Fatalf("exit %d stderr %q", r.code, r.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("brinectl kept waiting after interrupt")
	}

	// A bounded job wait on a job still running prints it and exits 1.
	r := h.ctl(t, nil, "job", "wait", jid, "--timeout", "0.01")
	var d struct {
		Status string `json:"status"`
	}
	oneJSON(t, r.stdout, &d)
	if r.code != exitFail || d.Status != "running" {
		t.Fatalf("bounded wait exit %d status %q", r.code, d.Status)
	}
}
