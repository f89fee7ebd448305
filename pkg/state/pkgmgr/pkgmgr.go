// Package pkgmgr is the package-manager backend of the pkg states and
// execution functions. Manager is what they need; Dpkg implements it with
// apt-get, dpkg and dpkg-query (Debian, Ubuntu). Every method is a real
// system change or query; nothing is cached between calls, so a state run
// always sees the system as it is.
package pkgmgr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// ErrUnsupported means no supported package manager was found.
var ErrUnsupported = errors.New("pkgmgr: no supported package manager (apt/dpkg) on this system")

// Pkg is one package known to the package database.
type Pkg struct {
	Version string
	// ConfigOnly is a removed package whose configuration files remain
	// (dpkg status "rc"); pkg.purged removes those too.
	ConfigOnly bool
}

// Target is a package to install: a name with an optional exact version.
type Target struct {
	Name    string
	Version string
}

// Manager installs, removes and lists packages.
type Manager interface {
	// List returns every package in the database, installed or config-only.
	List(ctx context.Context) (map[string]Pkg, error)
	// Install installs targets from the repositories.
	Install(ctx context.Context, targets []Target, refresh bool) error
	// InstallFiles installs local package files (pkg.installed sources).
	InstallFiles(ctx context.Context, paths []string) error
	// Remove removes (purge: and purges) packages.
	Remove(ctx context.Context, names []string, purge bool) error
	// Candidates returns, for each name, the version that would be
	// installed; unknown packages are left out.
	Candidates(ctx context.Context, names []string) (map[string]string, error)
	// FileInfo returns the name and version inside a package file.
	FileInfo(ctx context.Context, path string) (name, version string, err error)
	// Compare compares versions with the manager's rules: -1, 0 or 1.
	Compare(ctx context.Context, a, b string) (int, error)
	// Refresh updates the repository metadata (apt-get update).
	Refresh(ctx context.Context) error
}

// Detect returns the manager of this system.
func Detect() (Manager, error) {
	if _, err := exec.LookPath("dpkg-query"); err == nil {
		return Dpkg{}, nil
	}
	return nil, ErrUnsupported
}

// Dpkg is the apt/dpkg backend.
type Dpkg struct{}

func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "APT_LISTCHANGES_FRONTEND=none", "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = strings.TrimSpace(out.String())
		}
		return out.String(), fmt.Errorf("pkgmgr: %s %s: %w: %s", name, strings.Join(args, " "), err, lastLines(msg, 5))
	}
	return out.String(), nil
}

func lastLines(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// List implements Manager.
func (Dpkg) List(ctx context.Context) (map[string]Pkg, error) {
	out, err := run(ctx, "dpkg-query", "-W", "-f=${Package}\t${Version}\t${db:Status-Abbrev}\n")
	if err != nil && out == "" {
		return nil, err
	}
	pkgs := map[string]Pkg{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			continue
		}
		st := strings.TrimSpace(f[2])
		switch {
		case strings.HasPrefix(st, "ii"), strings.HasPrefix(st, "hi"):
			pkgs[f[0]] = Pkg{Version: f[1]}
		case strings.HasPrefix(st, "rc"):
			pkgs[f[0]] = Pkg{Version: f[1], ConfigOnly: true}
		}
	}
	return pkgs, nil
}

// Install implements Manager.
func (d Dpkg) Install(ctx context.Context, targets []Target, refresh bool) error {
	if refresh {
		if err := d.Refresh(ctx); err != nil {
			return err
		}
	}
	args := []string{"-q", "-y", "-o", "DPkg::Options::=--force-confold", "-o", "DPkg::Options::=--force-confdef", "install"}
	for _, t := range targets {
		if t.Version != "" {
			args = append(args, t.Name+"="+t.Version)
		} else {
			args = append(args, t.Name)
		}
	}
	_, err := run(ctx, "apt-get", args...)
	return err
}

// InstallFiles implements Manager.
func (Dpkg) InstallFiles(ctx context.Context, paths []string) error {
	_, err := run(ctx, "dpkg", append([]string{"--force-confold", "-i"}, paths...)...)
	return err
}

// Remove implements Manager.
func (Dpkg) Remove(ctx context.Context, names []string, purge bool) error {
	verb := "remove"
	if purge {
		verb = "purge"
	}
	_, err := run(ctx, "apt-get", append([]string{"-q", "-y", verb}, names...)...)
	return err
}

// Candidates implements Manager with one apt-cache policy call (each call
// reads the whole package cache, so asking per package is slow).
func (Dpkg) Candidates(ctx context.Context, names []string) (map[string]string, error) {
	out := map[string]string{}
	if len(names) == 0 {
		return out, nil
	}
	text, err := run(ctx, "apt-cache", append([]string{"policy"}, names...)...)
	if err != nil {
		return nil, err
	}
	parseCandidates(text, out)
	return out, nil
}

// parseCandidates reads apt-cache policy output: a "name:" line at column
// 0 opens a package, its "Candidate:" line gives the version.
func parseCandidates(text string, out map[string]string) {
	cur := ""
	for _, line := range strings.Split(text, "\n") {
		if line != "" && line[0] != ' ' && strings.HasSuffix(line, ":") {
			cur = strings.TrimSuffix(line, ":")
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate:"); ok && cur != "" {
			if v = strings.TrimSpace(v); v != "(none)" {
				out[cur] = v
			}
		}
	}
}

// FileInfo implements Manager.
func (Dpkg) FileInfo(ctx context.Context, path string) (string, string, error) {
	out, err := run(ctx, "dpkg-deb", "-f", path, "Package", "Version")
	if err != nil {
		return "", "", err
	}
	var name, version string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Package:"); ok {
			name = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "Version:"); ok {
			version = strings.TrimSpace(v)
		}
	}
	if name == "" {
		return "", "", fmt.Errorf("pkgmgr: %s is not a package file", path)
	}
	return name, version, nil
}

// Compare implements Manager with dpkg --compare-versions.
func (Dpkg) Compare(ctx context.Context, a, b string) (int, error) {
	if a == b {
		return 0, nil
	}
	err := exec.CommandContext(ctx, "dpkg", "--compare-versions", a, "lt", b).Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return -1, nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		if exec.CommandContext(ctx, "dpkg", "--compare-versions", a, "eq", b).Run() == nil {
			return 0, nil
		}
		return 1, nil
	}
	return 0, fmt.Errorf("pkgmgr: compare versions %q %q: %w", a, b, err)
}

// Refresh implements Manager.
func (Dpkg) Refresh(ctx context.Context) error {
	_, err := run(ctx, "apt-get", "-q", "update")
	return err
}

// Satisfies reports whether installed meets a version spec: "" (any),
// "1.2-1" (exact, or a prefix up to a "-" revision as Salt allows), or
// ">=1.2", "<=", ">", "<", "==", "=".
func Satisfies(ctx context.Context, m Manager, installed, spec string) (bool, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return true, nil
	}
	for _, op := range []string{">=", "<=", "==", ">", "<", "="} {
		v, ok := strings.CutPrefix(spec, op)
		if !ok {
			continue
		}
		c, err := m.Compare(ctx, installed, strings.TrimSpace(v))
		if err != nil {
			return false, err
		}
		switch op {
		case ">=":
			return c >= 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		case "<":
			return c < 0, nil
		}
		return c == 0, nil
	}
	if installed == spec || strings.HasPrefix(installed, spec+"-") || strings.HasPrefix(installed, spec+"+") {
		return true, nil
	}
	// An epoch the user left out: "1:2.39" installed, "2.39" asked.
	if _, rest, ok := strings.Cut(installed, ":"); ok && (rest == spec || strings.HasPrefix(rest, spec+"-")) {
		return true, nil
	}
	return false, nil
}
