package state

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func init() {
	common := []Arg{
		{Name: "cwd", Kind: String}, {Name: "runas", Kind: String}, {Name: "env", Kind: Dict},
		{Name: "shell", Kind: String}, {Name: "stateful", Kind: Any, Default: false},
		{Name: "timeout", Kind: Int}, {Name: "success_retcodes", Kind: List}, {Name: "stdin", Kind: String},
		{Name: "output_loglevel", Kind: String, Doc: "accepted: output is never logged"}, {Name: "hide_output", Kind: Bool},
		{Name: "python_shell", Kind: Bool, Doc: "accepted: commands always run through the shell"},
	}
	Default.Register(&Func{Name: "cmd.run", Doc: "Run a command (use creates, unless or onlyif to make it idempotent).", Args: common, Run: cmdRun, ModWatch: cmdModWatch})
	Default.Register(&Func{Name: "cmd.wait", Doc: "Run a command only when a watched state changed.", Args: common, Run: func(_ context.Context, c *Call) Ret {
		return Ret{Result: True}
	}, ModWatch: cmdModWatch})
	Default.Register(&Func{
		Name: "cmd.script",
		Doc:  "Download a script (salt://) and run it.",
		Args: append([]Arg{{Name: "source", Kind: String}, {Name: "args", Kind: String}, {Name: "template", Kind: String},
			{Name: "context", Kind: Dict}, {Name: "defaults", Kind: Dict}}, common...),
		Run:      cmdScript,
		ModWatch: cmdModWatch,
	})
}

func cmdShellOpts(a *Args) (shellOpts, error) {
	o := shellOpts{Cwd: a.String("cwd"), Runas: a.String("runas"), Shell: a.String("shell"), Stdin: a.String("stdin"), Env: map[string]string{}}
	for k, v := range a.Map("env") {
		o.Env[k] = scalarString(v)
	}
	if o.Cwd != "" {
		if st, err := os.Stat(o.Cwd); err != nil || !st.IsDir() {
			return o, fmt.Errorf("desired working directory %q is not available", o.Cwd)
		}
	}
	return o, nil
}

func cmdRun(ctx context.Context, c *Call) Ret {
	o, err := cmdShellOpts(c.Args)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if c.Test && !statefulTest(c.Args) {
		return Ret{Result: None, Comment: fmt.Sprintf("Command %q would have been executed", c.Name)}
	}
	return c.runCommand(ctx, []string{}, c.Name, o)
}

// statefulTest reports stateful: [{test_name: ...}], which runs even in
// test mode (the script is expected to honour it).
func statefulTest(a *Args) bool {
	m, ok := a.Get("stateful").(map[string]any)
	if !ok {
		if l, ok := a.Get("stateful").([]any); ok && len(l) > 0 {
			m, _ = l[0].(map[string]any)
		}
	}
	_, ok = m["test_name"]
	return ok
}

// runCommand runs cmd (a shell string) or argv, reporting Salt's changes
// (pid, retcode, stdout, stderr) and honouring stateful and timeout.
func (c *Call) runCommand(ctx context.Context, argv []string, cmd string, o shellOpts) Ret {
	a := c.Args
	if t := a.Int("timeout"); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(t)*time.Second)
		defer cancel()
	}
	var res shellResult
	var err error
	if len(argv) > 0 {
		res, err = runArgv(ctx, argv, o)
	} else {
		if statefulTest(a) && c.Test {
			if m, ok := a.Get("stateful").(map[string]any); ok {
				cmd = scalarString(m["test_name"])
			}
		}
		res, err = runShell(ctx, cmd, o)
	}
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if ctx.Err() != nil {
		return Ret{Result: False, Comment: fmt.Sprintf("Command %q timed out", cmd)}
	}
	ok := res.Retcode == 0
	for _, rc := range a.List("success_retcodes") {
		if n, err := strconv.Atoi(scalarString(rc)); err == nil && n == res.Retcode {
			ok = true
		}
	}
	if a.Bool("hide_output") {
		res.Stdout, res.Stderr = "", ""
	}
	ret := Ret{Result: False, Comment: fmt.Sprintf("Command %q run", cmd),
		Changes: map[string]any{"pid": int64(res.PID), "retcode": int64(res.Retcode), "stdout": res.Stdout, "stderr": res.Stderr}}
	if ok {
		ret.Result = True
	}
	if truthy(a.Get("stateful")) || statefulTest(a) {
		return reinterpret(ret, res)
	}
	return ret
}

// reinterpret applies Salt's stateful protocol: the last line of stdout is
// "changed=yes|no comment='...'" or a JSON object with changed/comment.
func reinterpret(ret Ret, res shellResult) Ret {
	out := strings.TrimSpace(res.Stdout)
	lines := strings.Split(out, "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	data := map[string]any{}
	if strings.HasPrefix(last, "{") {
		if err := json.Unmarshal([]byte(last), &data); err != nil {
			ret.Result, ret.Comment = False, "stateful: bad JSON on the last line of output"
			return ret
		}
	} else {
		for _, f := range splitKV(last) {
			k, v, _ := strings.Cut(f, "=")
			data[k] = strings.Trim(v, `'"`)
		}
	}
	stdout := strings.Join(lines[:len(lines)-1], "\n")
	if ch, has := data["changed"]; has {
		if !truthy(ch) && ch != true {
			ret.Changes = map[string]any{}
		} else {
			ret.Changes["stdout"] = stdout
		}
	}
	if cm, ok := data["comment"].(string); ok {
		ret.Comment = cm
	}
	return ret
}

// splitKV splits key=value words, keeping quoted values together.
func splitKV(s string) []string {
	var out []string
	var cur strings.Builder
	quote := rune(0)
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote = r
			cur.WriteRune(r)
		case r == ' ' || r == '\t':
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func cmdModWatch(ctx context.Context, c *Call) Ret {
	switch c.SFun {
	case "run", "wait":
		if c.Test {
			return Ret{Result: None, Comment: fmt.Sprintf("Command %q would have been executed", c.Name)}
		}
		o, err := cmdShellOpts(c.Args)
		if err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		return c.runCommand(ctx, nil, c.Name, o)
	case "script":
		return cmdScript(ctx, c)
	}
	return Ret{Result: False, Comment: fmt.Sprintf("cmd.%s does not work with the watch requisite", c.SFun)}
}

func cmdScript(ctx context.Context, c *Call) Ret {
	a := c.Args
	src := a.String("source")
	if src == "" {
		src = c.Name
	}
	o, err := cmdShellOpts(a)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if c.Test && !statefulTest(a) {
		return Ret{Result: None, Comment: fmt.Sprintf("Command %q would have been executed", c.Name)}
	}
	data, err := c.fetch(ctx, src, true)
	if err != nil {
		return Ret{Result: False, Comment: fmt.Sprintf("Unable to cache script %s: %v", src, err)}
	}
	if data, err = c.renderTemplate(ctx, a, data, src); err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	f, err := os.CreateTemp("", "brine-script-*")
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return Ret{Result: False, Comment: err.Error()}
	}
	f.Close()
	if err := os.Chmod(f.Name(), 0o755); err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if o.Runas != "" {
		if uid, err := lookupUID(o.Runas); err == nil {
			_ = os.Chown(f.Name(), uid, -1)
		}
	}
	argv := []string{f.Name()}
	if o.Shell != "" {
		argv = []string{o.Shell, f.Name()}
	}
	argv = append(argv, splitArgs(a.String("args"))...)
	return c.runCommand(ctx, argv, c.Name, o)
}

// splitArgs splits a command line on spaces, honouring quotes.
func splitArgs(s string) []string {
	var out []string
	for _, w := range splitKV(s) {
		if len(w) >= 2 && (w[0] == '"' || w[0] == '\'') && w[len(w)-1] == w[0] {
			w = w[1 : len(w)-1]
		}
		out = append(out, w)
	}
	return out
}
