package module

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/brine-project/brine/pkg/target"
)

// cmdArgs are the arguments every cmd.* function takes, in Salt's order for
// the positional ones (cmd, cwd, stdin, runas, group, shell, python_shell,
// env, clean_env); the rest are keyword-only.
var cmdArgs = []Arg{
	{Name: "cmd", Kind: Any, Required: true, Doc: "the command line; a list of words runs it without a shell"},
	{Name: "cwd", Kind: String, Doc: "working directory (absolute); default the home of runas or of the minion user"},
	{Name: "stdin", Kind: String, Doc: "text fed to the command's standard input"},
	{Name: "runas", Kind: String, Doc: "user to run as (uid, gid, supplementary groups, HOME, USER and LOGNAME are set)"},
	{Name: "group", Kind: String, Doc: "group to run as, instead of runas's primary group"},
	{Name: "shell", Kind: String, Default: DefaultShell, Doc: "shell that runs the command line"},
	{Name: "python_shell", Kind: Bool, Default: true, Doc: "false: split the command line like a shell would and run it without one"},
	{Name: "env", Kind: Any, Doc: "environment variables: a map, or a list of \"KEY=value\" strings or maps"},
	{Name: "clean_env", Kind: Bool, Default: false, Doc: "start from an empty environment instead of the minion's"},
	{Name: "rstrip", Kind: Bool, Default: true, KwOnly: true, Doc: "strip trailing whitespace from the output"},
	{Name: "output_loglevel", Kind: String, Default: "debug", KwOnly: true, Doc: "level at which the command is logged on the minion; quiet hides it (for secrets)"},
	{Name: "hide_output", Kind: Bool, Default: false, KwOnly: true, Doc: "return empty output (the retcode is still reported)"},
	{Name: "timeout", Kind: Float, KwOnly: true, Doc: "seconds after which the command's process group is killed (retcode 1)"},
	{Name: "ignore_retcode", Kind: Bool, Default: false, KwOnly: true, Doc: "a non-zero exit status does not fail the job"},
	{Name: "success_retcodes", Kind: List, KwOnly: true, Doc: "exit statuses other than 0 that count as success"},
	{Name: "raise_err", Kind: Bool, Default: false, KwOnly: true, Doc: "fail with an error when the exit status is non-zero"},
	{Name: "prepend_path", Kind: String, KwOnly: true, Doc: "directory put in front of PATH"},
	{Name: "reset_system_locale", Kind: Bool, Default: true, KwOnly: true, Doc: "accepted for Salt compatibility"},
	{Name: "saltenv", Kind: String, KwOnly: true, Doc: "accepted for Salt compatibility"},
}

type cmdShape int

const (
	shapeRun cmdShape = iota // combined output
	shapeAll                 // {pid, retcode, stdout, stderr}
	shapeRetcode
	shapeStdout
	shapeStderr
)

func init() {
	for _, c := range []struct {
		name, doc string
		shape     cmdShape
	}{
		{"cmd.run", "Run a command and return its output, standard error included. A non-zero exit status makes the job's retcode non-zero.", shapeRun},
		{"cmd.run_all", "Run a command and return {pid, retcode, stdout, stderr}.", shapeAll},
		{"cmd.retcode", "Run a command and return its exit status.", shapeRetcode},
		{"cmd.run_stdout", "Run a command and return its standard output only.", shapeStdout},
		{"cmd.run_stderr", "Run a command and return its standard error only.", shapeStderr},
	} {
		name, shape := c.name, c.shape
		Default.Register(&Func{
			Name: name,
			Doc:  c.doc,
			Args: cmdArgs,
			Run: func(ctx context.Context, env *Env, a *Args) (any, error) {
				return runCmd(ctx, env, a, name, shape)
			},
		})
	}
}

func runCmd(ctx context.Context, env *Env, a *Args, fun string, shape cmdShape) (any, error) {
	o, err := cmdOptions(a, fun)
	if err != nil {
		return nil, err
	}
	o.MergeStderr = shape == shapeRun
	lvl, quiet, err := logLevel(a.String("output_loglevel"))
	if err != nil {
		return nil, badArg(fun, "output_loglevel", "%v", err)
	}
	shown := o.Cmd
	if o.Argv != nil {
		shown = strings.Join(o.Argv, " ")
	}
	if !quiet {
		env.Log.Log(ctx, lvl, "executing command", slog.String("fun", fun), slog.String("cmd", shown),
			slog.String("cwd", o.Cwd), slog.String("runas", o.Runas))
	}
	res, err := RunCommand(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fun, err)
	}
	for _, s := range a.List("success_retcodes") {
		if n, err := convert(s, Int); err == nil && n.(int64) == int64(res.Retcode) {
			res.Retcode = 0
		}
	}
	if res.Retcode != 0 && !a.Bool("ignore_retcode") {
		if !quiet {
			env.Log.Error("command failed", slog.String("fun", fun), slog.String("cmd", shown), slog.Int("retcode", res.Retcode))
		}
		if a.Bool("raise_err") {
			return nil, &RetcodeError{Retcode: res.Retcode, Err: fmt.Errorf("module: %s: command %q failed with return code %d: %s", fun, shown, res.Retcode, strings.TrimSpace(res.Stdout+"\n"+res.Stderr))}
		}
	}
	if a.Bool("rstrip") {
		res.Stdout = strings.TrimRightFunc(res.Stdout, unicode.IsSpace)
		res.Stderr = strings.TrimRightFunc(res.Stderr, unicode.IsSpace)
	}
	if a.Bool("hide_output") {
		res.Stdout, res.Stderr = "", ""
	}
	if res.Truncated {
		env.Log.Warn("command output truncated", slog.String("fun", fun), slog.Int("max_bytes", MaxCommandOutput))
	}
	code := res.Retcode
	if a.Bool("ignore_retcode") {
		code = 0 // Salt sets __context__["retcode"] = 0 then
	}
	var ret any
	switch shape {
	case shapeRun, shapeStdout:
		ret = res.Stdout
	case shapeStderr:
		ret = res.Stderr
	case shapeRetcode:
		ret = res.Retcode
	case shapeAll:
		ret = map[string]any{"pid": res.PID, "retcode": res.Retcode, "stdout": res.Stdout, "stderr": res.Stderr}
	}
	return Result{Return: ret, Retcode: code}, nil
}

func cmdOptions(a *Args, fun string) (CmdOptions, error) {
	o := CmdOptions{
		Cwd:         a.String("cwd"),
		Stdin:       a.String("stdin"),
		Runas:       a.String("runas"),
		Group:       a.String("group"),
		Shell:       a.String("shell"),
		CleanEnv:    a.Bool("clean_env"),
		PrependPath: a.String("prepend_path"),
	}
	switch c := a.Get("cmd").(type) {
	case string:
		if strings.TrimSpace(c) == "" {
			return o, badArg(fun, "cmd", "empty command")
		}
		if a.Has("python_shell") && !a.Bool("python_shell") {
			argv, err := SplitCommand(c)
			if err != nil {
				return o, badArg(fun, "cmd", "%v", err)
			}
			o.Argv = argv
		} else {
			o.Cmd = c
		}
	case []any:
		if len(c) == 0 {
			return o, badArg(fun, "cmd", "empty command")
		}
		for i, w := range c {
			s, ok := w.(string)
			if !ok {
				return o, badArg(fun, "cmd", "word %d is %T, want string", i+1, w)
			}
			o.Argv = append(o.Argv, s)
		}
	default:
		return o, badArg(fun, "cmd", "want a string or a list of strings, got %T", c)
	}
	if t := a.Float("timeout"); t < 0 {
		return o, badArg(fun, "timeout", "must not be negative, got %v", t)
	} else if t > 0 {
		o.Timeout = time.Duration(t * float64(time.Second))
	}
	env, err := envMap(a.Get("env"))
	if err != nil {
		return o, badArg(fun, "env", "%v", err)
	}
	o.Env = env
	return o, nil
}

// envMap accepts Salt's env forms: a map, or a list of "K=v" strings and
// one-entry maps.
func envMap(v any) (map[string]string, error) {
	out := map[string]string{}
	add := func(m map[string]any) {
		for k, v := range m {
			out[k] = target.PyStr(v)
		}
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		add(x)
	case string:
		if p, ok := ParseValue(x).(string); ok {
			return nil, fmt.Errorf("want a map or a list of KEY=value, got the string %q", p)
		}
		return envMap(ParseValue(x))
	case []any:
		for i, e := range x {
			switch y := e.(type) {
			case string:
				k, val, ok := strings.Cut(y, "=")
				if !ok || k == "" {
					return nil, fmt.Errorf("entry %d %q is not KEY=value", i+1, y)
				}
				out[k] = val
			case map[string]any:
				add(y)
			default:
				return nil, fmt.Errorf("entry %d is %T, want \"KEY=value\" or a map", i+1, e)
			}
		}
	default:
		return nil, fmt.Errorf("want a map or a list of KEY=value, got %T", v)
	}
	return out, nil
}

// logLevel maps Salt's output_loglevel names to slog levels.
func logLevel(s string) (slog.Level, bool, error) {
	switch strings.ToLower(s) {
	case "quiet":
		return 0, true, nil
	case "garbage", "trace", "profile", "all":
		return slog.LevelDebug - 4, false, nil
	case "", "debug":
		return slog.LevelDebug, false, nil
	case "info":
		return slog.LevelInfo, false, nil
	case "warning", "warn":
		return slog.LevelWarn, false, nil
	case "error":
		return slog.LevelError, false, nil
	case "critical":
		return slog.LevelError + 4, false, nil
	}
	return 0, false, fmt.Errorf("unknown level %q (want quiet, trace, debug, info, warning, error or critical)", s)
}

// SplitCommand splits a command line into words as a POSIX shell (and
// Python's shlex.split) would, without expanding anything: single quotes
// are literal, double quotes allow \" \\ \$ \` escapes, a backslash outside
// quotes escapes the next character.
func SplitCommand(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated single quote at offset %d", i)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && strings.IndexByte("\"\\$`\n", s[j+1]) >= 0 {
					j++
				}
				cur.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated double quote at offset %d", i)
			}
			i = j
			inWord = true
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("trailing backslash")
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("no words in command")
	}
	return words, nil
}
