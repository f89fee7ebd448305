package module

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCmdFuncs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runCases(t, nil, []funcCase{
		{name: "run", fun: "cmd.run", args: []any{"echo hello"}, want: `"hello"`},
		{name: "run merges stderr", fun: "cmd.run", args: []any{"echo out; echo err >&2"}, want: `"out\nerr"`},
		{name: "run failing sets retcode", fun: "cmd.run", args: []any{"echo oops; exit 3"}, want: `"oops"`, retcode: 3},
		{name: "run killed by signal", fun: "cmd.run", args: []any{"kill -TERM $$"}, want: `""`, retcode: 128 + 15},
		{name: "ignore_retcode", fun: "cmd.run", args: []any{"exit 3"}, kw: map[string]any{"ignore_retcode": true}, want: `""`},
		{name: "success_retcodes", fun: "cmd.run", args: []any{"exit 3", "success_retcodes=[3, 4]"}, want: `""`},
		{name: "raise_err", fun: "cmd.run", args: []any{"echo bad; exit 5"}, kw: map[string]any{"raise_err": true}, errHas: "failed with return code 5: bad"},
		{name: "run_all", fun: "cmd.run_all", args: []any{"echo out; echo err >&2; exit 2"}, retcode: 2},
		{name: "retcode", fun: "cmd.retcode", args: []any{"exit 4"}, want: "4", retcode: 4},
		{name: "retcode zero", fun: "cmd.retcode", args: []any{"true"}, want: "0"},
		{name: "run_stdout", fun: "cmd.run_stdout", args: []any{"echo out; echo err >&2"}, want: `"out"`},
		{name: "run_stderr", fun: "cmd.run_stderr", args: []any{"echo out; echo err >&2"}, want: `"err"`},
		{name: "cwd", fun: "cmd.run", args: []any{"pwd", dir}, want: js(dir)},
		{name: "cwd missing", fun: "cmd.run", args: []any{"pwd"}, kw: map[string]any{"cwd": dir + "/nope"}, errHas: "cwd"},
		{name: "cwd relative", fun: "cmd.run", args: []any{"pwd"}, kw: map[string]any{"cwd": "tmp"}, errHas: "cwd"},
		{name: "env map", fun: "cmd.run", args: []any{"echo $A-$B"}, kw: map[string]any{"env": map[string]any{"A": "1", "B": 2.0}}, want: `"1-2"`},
		{name: "env list", fun: "cmd.run", args: []any{"echo $A-$B"}, kw: map[string]any{"env": []any{"A=x=y", map[string]any{"B": "z"}}}, want: `"x=y-z"`},
		{name: "env from cli string", fun: "cmd.run", args: []any{"echo $A", "env={A: q}"}, want: `"q"`},
		{name: "env bad entry", fun: "cmd.run", args: []any{"true"}, kw: map[string]any{"env": []any{"novalue"}}, errIs: ErrBadArgs, errHas: `"env"`},
		{name: "env bad type", fun: "cmd.run", args: []any{"true"}, kw: map[string]any{"env": int64(3)}, errIs: ErrBadArgs, errHas: `"env"`},
		{name: "clean_env", fun: "cmd.run", args: []any{"env | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_=' | sort"},
			kw: map[string]any{"clean_env": true, "env": map[string]any{"ONLY": "me"}}, want: `"ONLY=me\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"`},
		{name: "prepend_path", fun: "cmd.run", args: []any{"echo $PATH"}, kw: map[string]any{"prepend_path": "/opt/x", "clean_env": true},
			want: `"/opt/x:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"`},
		{name: "stdin", fun: "cmd.run", args: []any{"tr a-z A-Z"}, kw: map[string]any{"stdin": "data"}, want: `"DATA"`},
		{name: "no stdin reads nothing", fun: "cmd.run", args: []any{"cat"}, want: `""`},
		{name: "shell", fun: "cmd.run", args: []any{`[[ -n "$BASH_VERSION" ]] && echo bash`}, kw: map[string]any{"shell": "/bin/bash"}, want: `"bash"`},
		{name: "shell missing", fun: "cmd.run", args: []any{"true"}, kw: map[string]any{"shell": "/nonexistent/sh"}, errHas: "not available"},
		{name: "python_shell false", fun: "cmd.run", args: []any{`echo 'a  b' "$HOME" c\ d`}, kw: map[string]any{"python_shell": false}, want: `"a  b $HOME c d"`},
		{name: "python_shell false bad quote", fun: "cmd.run", args: []any{`echo 'a`}, kw: map[string]any{"python_shell": false}, errIs: ErrBadArgs, errHas: `"cmd"`},
		{name: "argv list", fun: "cmd.run", args: []any{[]any{"printf", "%s-", "a b"}}, want: `"a b-"`},
		{name: "argv not found", fun: "cmd.run", args: []any{[]any{"/nonexistent/prog"}}, errHas: "unable to run"},
		{name: "argv bad word", fun: "cmd.run", args: []any{[]any{"echo", int64(1)}}, errIs: ErrBadArgs, errHas: "word 2"},
		{name: "empty cmd", fun: "cmd.run", args: []any{"  "}, errIs: ErrBadArgs, errHas: `"cmd"`},
		{name: "cmd wrong type", fun: "cmd.run", args: []any{map[string]any{}}, errIs: ErrBadArgs, errHas: `"cmd"`},
		{name: "missing cmd", fun: "cmd.run_all", errIs: ErrBadArgs, errHas: `"cmd"`},
		{name: "bad timeout", fun: "cmd.run", args: []any{"true"}, kw: map[string]any{"timeout": "soon"}, errIs: ErrBadArgs, errHas: `"timeout"`},
		{name: "negative timeout", fun: "cmd.run", args: []any{"true"}, kw: map[string]any{"timeout": -1.0}, errIs: ErrBadArgs, errHas: `"timeout"`},
		{name: "bad loglevel", fun: "cmd.run", args: []any{"true"}, kw: map[string]any{"output_loglevel": "loud"}, errIs: ErrBadArgs, errHas: `"output_loglevel"`},
		{name: "quiet loglevel", fun: "cmd.run", args: []any{"echo s3cret"}, kw: map[string]any{"output_loglevel": "quiet"}, want: `"s3cret"`},
		{name: "unknown kwarg", fun: "cmd.run", args: []any{"true"}, kw: map[string]any{"bogus": 1}, errIs: ErrBadArgs, errHas: `"bogus"`},
		{name: "hide_output", fun: "cmd.run", args: []any{"echo x; exit 1"}, kw: map[string]any{"hide_output": true}, want: `""`, retcode: 1},
		{name: "rstrip false", fun: "cmd.run", args: []any{"echo x"}, kw: map[string]any{"rstrip": false}, want: `"x\n"`},
		{name: "unknown runas", fun: "cmd.run", args: []any{"true"}, kw: map[string]any{"runas": "no-such-user-x"}, errHas: `runas user "no-such-user-x"`},
		{name: "unknown group", fun: "cmd.run", args: []any{"true"}, kw: map[string]any{"group": "no-such-group-x"}, errHas: `group "no-such-group-x"`},
	})
}

func TestCmdRunAllShape(t *testing.T) {
	t.Parallel()
	v, code, err := call(t, nil, "cmd.run_all", []any{"echo out; echo err >&2; exit 2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if m["stdout"] != "out" || m["stderr"] != "err" || m["retcode"] != 2 || code != 2 {
		t.Errorf("run_all = %s (retcode %d)", js(v), code)
	}
	if pid, _ := m["pid"].(int); pid <= 0 {
		t.Errorf("pid %v", m["pid"])
	}
}

// processGone waits until pid has exited (or is a zombie nobody reaps).
func processGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		if f := strings.Fields(string(b)); len(f) > 2 && (f[2] == "Z" || f[2] == "X") {
			return
		}
		time.Sleep(10 * time.Millisecond) // polling /proc: no event to wait on
	}
	t.Fatalf("process %d still alive", pid)
}

func TestCmdTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The shell starts a background child and waits: both must die.
	script := fmt.Sprintf("sleep 300 & echo $! > %s; wait", pidFile)
	v, code, err := call(t, nil, "cmd.run", []any{script}, map[string]any{"timeout": 0.3})
	if err != nil {
		t.Fatal(err)
	}
	if code != 1 || !strings.HasSuffix(v.(string), " : Timed out after 0.3 seconds") {
		t.Errorf("timeout gave %s, retcode %d", js(v), code)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	processGone(t, pid)
}

func TestCmdCancelKills(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pidFile := filepath.Join(t.TempDir(), "pid")
	done := make(chan error, 1)
	go func() {
		_, err := Default.Call(ctx, nil, "cmd.run", []any{fmt.Sprintf("echo $$ > %s.tmp && mv %s.tmp %s; sleep 300", pidFile, pidFile, pidFile)}, nil)
		done <- err
	}()
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for pid == 0 && time.Now().Before(deadline) {
		if b, err := os.ReadFile(pidFile); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		} else {
			time.Sleep(5 * time.Millisecond) // polling the file the shell writes
		}
	}
	if pid == 0 {
		t.Fatal("command did not start")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled cmd.run: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cmd.run did not return after cancel")
	}
	processGone(t, pid)
}

func TestCmdRunas(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("runas needs root")
	}
	runCases(t, nil, []funcCase{
		{name: "user", fun: "cmd.run", args: []any{"id -un"}, kw: map[string]any{"runas": "nobody"}, want: `"nobody"`},
		{name: "uid and gid", fun: "cmd.run", args: []any{"id -u; id -g"}, kw: map[string]any{"runas": "nobody"}, want: `"65534\n65534"`},
		{name: "supplementary groups", fun: "cmd.run", args: []any{"id -G"}, kw: map[string]any{"runas": "nobody"}, want: `"65534"`},
		{name: "home and user env", fun: "cmd.run", args: []any{"echo $HOME $USER $LOGNAME"}, kw: map[string]any{"runas": "nobody"}, want: `"/nonexistent nobody nobody"`},
		{name: "cwd falls back to /", fun: "cmd.run", args: []any{"pwd"}, kw: map[string]any{"runas": "nobody"}, want: `"/"`},
		{name: "by uid", fun: "cmd.run", args: []any{"id -un"}, kw: map[string]any{"runas": "65534"}, want: `"nobody"`},
		{name: "group override", fun: "cmd.run", args: []any{"id -gn"}, kw: map[string]any{"runas": "nobody", "group": "daemon"}, want: `"daemon"`},
		{name: "cannot read root files", fun: "cmd.retcode", args: []any{"cat /etc/shadow"}, kw: map[string]any{"runas": "nobody"}, want: "1", retcode: 1},
	})
}

func TestSplitCommand(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string
		err  bool
	}{
		{`a b  c`, `["a","b","c"]`, false},
		{`'a b' "c d"`, `["a b","c d"]`, false},
		{`"a \"q\" \\ \$x \n"`, `["a \"q\" \\ $x \\n"]`, false},
		{`a\ b`, `["a b"]`, false},
		{`x'y'"z"`, `["xyz"]`, false},
		{`''`, `[""]`, false},
		{`'open`, ``, true},
		{`"open`, ``, true},
		{`trail\`, ``, true},
		{`   `, ``, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := SplitCommand(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("SplitCommand(%q) error %v", tc.in, err)
			}
			if !tc.err && js(got) != tc.want {
				t.Errorf("SplitCommand(%q) = %s, want %s", tc.in, js(got), tc.want)
			}
		})
	}
}

func TestRunCommandBackgroundChildHoldingOutput(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The background sleep inherits stdout: without a wait delay, Wait would
	// block until it exits.
	res, err := RunCommand(context.Background(), CmdOptions{
		Cmd:       fmt.Sprintf("sleep 300 & echo $! > %s; echo started", pidFile),
		WaitDelay: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "started\n" || res.Retcode != 0 {
		t.Errorf("got %+v", res)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL) // the test's own leftover
	}
}

func TestRunCommandOutputCap(t *testing.T) {
	t.Parallel()
	b := &capBuffer{max: 4}
	for _, s := range []string{"ab", "cde", "f"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if b.String() != "abcd" || !b.truncated {
		t.Errorf("capBuffer kept %q truncated=%v", b.String(), b.truncated)
	}
}

func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{`a 'b c' "d\"e"`, `x\ y`, `"`, `''`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := SplitCommand(s)
		if err == nil && len(words) == 0 {
			t.Fatalf("SplitCommand(%q) gave no words and no error", s)
		}
	})
}

func BenchmarkCmdRun(b *testing.B) {
	for b.Loop() {
		if _, err := Default.Call(context.Background(), nil, "cmd.run", []any{"true"}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
