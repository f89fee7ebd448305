package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// shellOpts are how cmd.run, cmd.script and unless/onlyif run commands.
type shellOpts struct {
	Cwd   string
	Runas string
	Env   map[string]string
	Shell string // default /bin/sh
	Stdin string
}

type shellResult struct {
	Stdout, Stderr string
	Retcode        int
	PID            int
}

// runShell runs cmd through the shell. A non-zero exit is not an error; a
// command that cannot start is.
func runShell(ctx context.Context, cmd string, o shellOpts) (shellResult, error) {
	sh := o.Shell
	if sh == "" {
		sh = "/bin/sh"
	}
	return runArgv(ctx, []string{sh, "-c", cmd}, o)
}

func runArgv(ctx context.Context, argv []string, o shellOpts) (shellResult, error) {
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Dir = o.Cwd
	env := os.Environ()
	if o.Runas != "" {
		u, err := user.Lookup(o.Runas)
		if err != nil {
			return shellResult{Retcode: -1}, fmt.Errorf("state: runas user %q: %w", o.Runas, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		var groups []uint32
		if gids, err := u.GroupIds(); err == nil {
			for _, g := range gids {
				if n, err := strconv.Atoi(g); err == nil {
					groups = append(groups, uint32(n))
				}
			}
		}
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}}
		env = append(env, "HOME="+u.HomeDir, "USER="+u.Username, "LOGNAME="+u.Username)
		if o.Cwd == "" {
			if st, err := os.Stat(u.HomeDir); err == nil && st.IsDir() {
				c.Dir = u.HomeDir
			}
		}
	}
	for k, v := range o.Env {
		env = append(env, k+"="+v)
	}
	c.Env = env
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if o.Stdin != "" {
		c.Stdin = strings.NewReader(o.Stdin)
	}
	err := c.Run()
	res := shellResult{Stdout: strings.TrimRight(out.String(), "\n"), Stderr: strings.TrimRight(errb.String(), "\n")}
	if c.Process != nil {
		res.PID = c.Process.Pid
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.Retcode = ee.ExitCode()
	default:
		res.Retcode = -1
		return res, fmt.Errorf("state: run %q: %w", argv[0], err)
	}
	return res, nil
}
