package module

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultShell runs commands when no shell is given, as Salt's default on
// Linux minions.
const DefaultShell = "/bin/sh"

// MaxCommandOutput bounds what is kept of each output stream of a command, so
// that a runaway command cannot exhaust the minion's memory; the rest is
// discarded and CmdResult.Truncated set.
const MaxCommandOutput = 32 << 20

// defaultWaitDelay is how long Wait keeps reading after the command exited
// while a background child it started still holds its output open
// ("daemon &"): Salt hangs for ever there, we return what we have.
const defaultWaitDelay = 2 * time.Second

// CmdOptions describe one command run by RunCommand (cmd.* functions; state
// functions may reuse it).
type CmdOptions struct {
	Cmd         string            // a shell command line, run as Shell -c Cmd, unless Argv is set
	Argv        []string          // run directly without a shell when set
	Shell       string            // default DefaultShell
	Cwd         string            // default: the home of Runas (or of the minion's user), else "/"
	Env         map[string]string // added to (or, with CleanEnv, replacing) the minion's environment
	CleanEnv    bool
	PrependPath string // put in front of PATH
	Runas       string // user name or uid; sets uid, gid, supplementary groups, HOME, USER, LOGNAME
	Group       string // group name or gid, overriding Runas's primary group
	Stdin       string
	Timeout     time.Duration // 0: none; on expiry the whole process group is killed
	MergeStderr bool          // stderr goes into Stdout, interleaved (cmd.run)
	// WaitDelay bounds the wait for output after the command exited while a
	// background child still holds its stdout/stderr (default 2s).
	WaitDelay time.Duration
}

// CmdResult is what a command did.
type CmdResult struct {
	Stdout    string
	Stderr    string
	Retcode   int
	PID       int
	TimedOut  bool
	Truncated bool
}

// RunCommand runs a command in its own process group and waits for it. A
// non-zero exit status is a result, not an error; errors are failures to
// start (unknown user, missing cwd or shell) and cancellation of ctx, on
// which the process group is killed. On Timeout the group is killed too and
// the result is Salt's: Retcode 1, Stdout "<cmd> : Timed out after N seconds".
func RunCommand(ctx context.Context, o CmdOptions) (CmdResult, error) {
	argv := o.Argv
	if argv == nil {
		sh := o.Shell
		if sh == "" {
			sh = DefaultShell
		}
		if st, err := os.Stat(sh); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return CmdResult{}, fmt.Errorf("module: the shell %s is not available", sh)
		}
		argv = []string{sh, "-c", o.Cmd}
	}
	if len(argv) == 0 || argv[0] == "" {
		return CmdResult{}, errors.New("module: empty command")
	}
	cred, identEnv, home, err := credentials(o.Runas, o.Group)
	if err != nil {
		return CmdResult{}, err
	}
	cwd := o.Cwd
	if cwd == "" {
		cwd = home
		if st, err := os.Stat(cwd); cwd == "" || err != nil || !st.IsDir() {
			cwd = "/"
		}
	} else if st, err := os.Stat(cwd); !filepath.IsAbs(cwd) || err != nil || !st.IsDir() {
		return CmdResult{}, fmt.Errorf("module: specified cwd %q either not absolute or does not exist", cwd)
	}

	runCtx := ctx
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	c := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	c.Dir = cwd
	c.Env = commandEnv(o, identEnv)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	c.Cancel = func() error {
		// Kill the whole group: a shell's children would otherwise live on
		// and keep the output pipes open.
		if err := syscall.Kill(-c.Process.Pid, syscall.SIGKILL); err != nil {
			return c.Process.Kill()
		}
		return nil
	}
	c.WaitDelay = o.WaitDelay
	if c.WaitDelay <= 0 {
		c.WaitDelay = defaultWaitDelay
	}
	if o.Stdin != "" {
		c.Stdin = strings.NewReader(o.Stdin)
	}
	stdout := &capBuffer{max: MaxCommandOutput}
	stderr := stdout
	if !o.MergeStderr {
		stderr = &capBuffer{max: MaxCommandOutput}
	}
	// Passing the same writer twice makes os/exec give the child one pipe
	// for both, so the interleaving is the command's own.
	c.Stdout, c.Stderr = stdout, stderr

	if err := c.Start(); err != nil {
		return CmdResult{}, fmt.Errorf("module: unable to run command %q: %w", strings.Join(argv, " "), err)
	}
	res := CmdResult{PID: c.Process.Pid}
	werr := c.Wait()
	res.Stdout = stdout.String()
	if !o.MergeStderr {
		res.Stderr = stderr.String()
	}
	res.Truncated = stdout.truncated || stderr.truncated
	res.Retcode = exitCode(c.ProcessState)

	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("module: command killed: %w", ctx.Err())
	case o.Timeout > 0 && runCtx.Err() != nil:
		res.TimedOut = true
		res.Stdout = fmt.Sprintf("%s : Timed out after %s seconds", displayCmd(o, argv), strconv.FormatFloat(o.Timeout.Seconds(), 'f', -1, 64))
		res.Stderr = ""
		res.Retcode = 1
		return res, nil
	}
	var exitErr *exec.ExitError
	if werr != nil && !errors.As(werr, &exitErr) && !errors.Is(werr, exec.ErrWaitDelay) {
		return res, fmt.Errorf("module: command %q: %w", displayCmd(o, argv), werr)
	}
	return res, nil
}

func displayCmd(o CmdOptions, argv []string) string {
	if o.Argv == nil {
		return o.Cmd
	}
	return strings.Join(argv, " ")
}

// exitCode is the exit status, or 128+signal for a killed process as a
// shell reports it.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// credentials resolves runas/group into the child's credentials, identity
// environment and home directory. With no runas, the minion's own identity
// is kept (nil Credential) and the home is the minion user's.
func credentials(runas, group string) (*syscall.Credential, map[string]string, string, error) {
	if runas == "" && group == "" {
		home, _ := os.UserHomeDir()
		return nil, nil, home, nil
	}
	cred := &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}
	var ident map[string]string
	home := ""
	if runas != "" {
		u, err := lookupUser(runas)
		if err != nil {
			return nil, nil, "", fmt.Errorf("module: runas user %q: %w", runas, err)
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			return nil, nil, "", fmt.Errorf("module: runas user %q: non-numeric uid/gid %s/%s", runas, u.Uid, u.Gid)
		}
		cred.Uid, cred.Gid = uint32(uid), uint32(gid)
		gids, err := u.GroupIds()
		if err != nil {
			return nil, nil, "", fmt.Errorf("module: runas user %q: groups: %w", runas, err)
		}
		for _, g := range gids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(n))
			}
		}
		home = u.HomeDir
		ident = map[string]string{"HOME": u.HomeDir, "USER": u.Username, "LOGNAME": u.Username}
	}
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			if g, err = user.LookupGroupId(group); err != nil {
				return nil, nil, "", fmt.Errorf("module: group %q: %w", group, err)
			}
		}
		gid, err := strconv.ParseUint(g.Gid, 10, 32)
		if err != nil {
			return nil, nil, "", fmt.Errorf("module: group %q: non-numeric gid %s", group, g.Gid)
		}
		cred.Gid = uint32(gid)
	}
	if runas == "" {
		home, _ = os.UserHomeDir()
		// Keep the current supplementary groups when only the group changes.
		if gs, err := os.Getgroups(); err == nil {
			for _, g := range gs {
				cred.Groups = append(cred.Groups, uint32(g))
			}
		}
	}
	if os.Getuid() != 0 && int(cred.Uid) == os.Getuid() && int(cred.Gid) == os.Getgid() {
		// Running as ourselves: setting credentials would need CAP_SETGID
		// for the groups call, and changes nothing.
		cred = nil
	}
	return cred, ident, home, nil
}

func lookupUser(name string) (*user.User, error) {
	u, err := user.Lookup(name)
	if err == nil {
		return u, nil
	}
	if _, nerr := strconv.Atoi(name); nerr == nil {
		return user.LookupId(name)
	}
	return nil, err
}

func commandEnv(o CmdOptions, ident map[string]string) []string {
	env := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	if !o.CleanEnv {
		for _, kv := range os.Environ() {
			if k, v, ok := strings.Cut(kv, "="); ok {
				set(k, v)
			}
		}
	}
	for k, v := range ident {
		set(k, v)
	}
	for k, v := range o.Env {
		set(k, v)
	}
	if _, ok := env["PATH"]; !ok {
		set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	if o.PrependPath != "" {
		set("PATH", o.PrependPath+":"+env["PATH"])
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out
}

// capBuffer keeps the first max bytes written and counts the rest away.
// os/exec serialises writes when the same capBuffer is both outputs.
type capBuffer struct {
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (b *capBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room < len(p) {
		b.truncated = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *capBuffer) String() string { return b.buf.String() }

var _ io.Writer = (*capBuffer)(nil)
