package state

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/brine-project/brine/pkg/state/pkgmgr"
)

func init() {
	common := []Arg{
		{Name: "pkgs", Kind: List, Doc: "several packages: names or {name: version}"},
		{Name: "refresh", Kind: Bool, Default: false, Doc: "update the package metadata first"},
		{Name: "skip_verify", Kind: Bool, Doc: "install http(s) sources without a hash"},
	}
	Default.Register(&Func{Name: "pkg.installed", Doc: "Ensure packages are installed (at a version).",
		Args: append([]Arg{{Name: "version", Kind: String}, {Name: "sources", Kind: List, Doc: "[{name: salt:// or local .deb}]"},
			{Name: "reinstall", Kind: Bool, Default: false}}, common...),
		Run: pkgInstalled})
	Default.Register(&Func{Name: "pkg.latest", Doc: "Ensure packages are installed at the newest available version.",
		Args: common, Run: pkgLatest})
	Default.Register(&Func{Name: "pkg.removed", Doc: "Ensure packages are not installed.",
		Args: append([]Arg{{Name: "version", Kind: String}}, common...), Run: pkgRemove(false)})
	Default.Register(&Func{Name: "pkg.purged", Doc: "Ensure packages are not installed and their configuration is gone.",
		Args: append([]Arg{{Name: "version", Kind: String}}, common...), Run: pkgRemove(true)})
}

func (c *Call) packages() (pkgmgr.Manager, error) {
	if c.e.deps.Packages != nil {
		return c.e.deps.Packages, nil
	}
	return pkgmgr.Detect()
}

// pkgTargets reads name/version or pkgs into targets.
func pkgTargets(c *Call) []pkgmgr.Target {
	a := c.Args
	if !a.Has("pkgs") {
		return []pkgmgr.Target{{Name: c.Name, Version: a.String("version")}}
	}
	var out []pkgmgr.Target
	for _, p := range a.List("pkgs") {
		switch x := p.(type) {
		case map[string]any:
			for n, v := range x {
				out = append(out, pkgmgr.Target{Name: n, Version: scalarString(v)})
			}
		default:
			out = append(out, pkgmgr.Target{Name: scalarString(x)})
		}
	}
	return out
}

// pkgDiff is Salt's changes for packages: {name: {old, new}}.
func pkgDiff(before, after map[string]pkgmgr.Pkg) map[string]any {
	ch := map[string]any{}
	ver := func(m map[string]pkgmgr.Pkg, n string) string {
		if p, ok := m[n]; ok && !p.ConfigOnly {
			return p.Version
		}
		return ""
	}
	seen := map[string]bool{}
	for _, m := range []map[string]pkgmgr.Pkg{before, after} {
		for n := range m {
			if seen[n] {
				continue
			}
			seen[n] = true
			if o, nw := ver(before, n), ver(after, n); o != nw {
				ch[n] = map[string]any{"old": o, "new": nw}
			}
		}
	}
	return ch
}

func names(ts []pkgmgr.Target) string {
	var n []string
	for _, t := range ts {
		n = append(n, t.Name)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

func pkgInstalled(ctx context.Context, c *Call) Ret {
	m, err := c.packages()
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	before, err := m.List(ctx)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if c.Args.Has("sources") {
		return pkgFromSources(ctx, c, m, before)
	}
	var todo []pkgmgr.Target
	would := map[string]any{}
	for _, t := range pkgTargets(c) {
		p, ok := before[t.Name]
		if ok && !p.ConfigOnly && !c.Args.Bool("reinstall") {
			sat, err := pkgmgr.Satisfies(ctx, m, p.Version, t.Version)
			if err != nil {
				return Ret{Result: False, Comment: err.Error()}
			}
			if sat {
				continue
			}
		}
		// An operator spec (">=1.0") installs the candidate.
		if strings.ContainsAny(t.Version, "<>=") {
			t.Version = ""
		}
		todo = append(todo, t)
		nv := t.Version
		if nv == "" {
			nv = "latest"
		}
		would[t.Name] = map[string]any{"old": before[t.Name].Version, "new": nv}
	}
	if len(todo) == 0 {
		return Ret{Result: True, Comment: "All specified packages are already installed"}
	}
	if c.Test {
		return Ret{Result: None, Changes: would, Comment: "The following packages would be installed/updated: " + names(todo)}
	}
	ierr := m.Install(ctx, todo, c.Args.Bool("refresh"))
	return pkgVerify(ctx, c, m, before, todo, ierr)
}

// pkgVerify lists again after an install and checks every target landed.
func pkgVerify(ctx context.Context, c *Call, m pkgmgr.Manager, before map[string]pkgmgr.Pkg, todo []pkgmgr.Target, ierr error) Ret {
	after, err := m.List(ctx)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	ch := pkgDiff(before, after)
	var failed []pkgmgr.Target
	for _, t := range todo {
		p, ok := after[t.Name]
		sat := false
		if ok && !p.ConfigOnly {
			sat, _ = pkgmgr.Satisfies(ctx, m, p.Version, t.Version)
		}
		if !sat {
			failed = append(failed, t)
		}
	}
	if len(failed) > 0 || ierr != nil {
		msg := "The following packages failed to install/update: " + names(failed)
		if ierr != nil {
			msg += "\n" + ierr.Error()
		}
		return Ret{Result: False, Changes: ch, Comment: msg}
	}
	return Ret{Result: True, Changes: ch, Comment: "The following packages were installed/updated: " + names(todo)}
}

func pkgFromSources(ctx context.Context, c *Call, m pkgmgr.Manager, before map[string]pkgmgr.Pkg) Ret {
	var files []string
	var todo []pkgmgr.Target
	would := map[string]any{}
	for _, s := range c.Args.List("sources") {
		sm, ok := s.(map[string]any)
		if !ok || len(sm) != 1 {
			return Ret{Result: False, Comment: "sources entries must be {name: source}"}
		}
		for name, src := range sm {
			url := scalarString(src)
			path := strings.TrimPrefix(url, "file://")
			if strings.HasPrefix(url, "salt://") || strings.HasPrefix(url, "http") {
				data, err := c.fetch(ctx, url, !c.Args.Bool("skip_verify") && strings.HasPrefix(url, "http"))
				if err != nil {
					return Ret{Result: False, Comment: fmt.Sprintf("unable to get %s: %v", url, err)}
				}
				f, err := os.CreateTemp("", "brine-pkg-*.deb")
				if err != nil {
					return Ret{Result: False, Comment: err.Error()}
				}
				defer os.Remove(f.Name())
				_, werr := f.Write(data)
				if cerr := f.Close(); werr == nil {
					werr = cerr
				}
				if werr != nil {
					return Ret{Result: False, Comment: werr.Error()}
				}
				path = f.Name()
			}
			pn, pv, err := m.FileInfo(ctx, path)
			if err != nil {
				return Ret{Result: False, Comment: err.Error()}
			}
			if pn != name {
				return Ret{Result: False, Comment: fmt.Sprintf("source %s contains package %s, not %s", url, pn, name)}
			}
			if p, ok := before[name]; ok && !p.ConfigOnly && p.Version == pv && !c.Args.Bool("reinstall") {
				continue
			}
			files = append(files, path)
			todo = append(todo, pkgmgr.Target{Name: name, Version: pv})
			would[name] = map[string]any{"old": before[name].Version, "new": pv}
		}
	}
	if len(todo) == 0 {
		return Ret{Result: True, Comment: "All specified packages are already installed"}
	}
	if c.Test {
		return Ret{Result: None, Changes: would, Comment: "The following packages would be installed/updated: " + names(todo)}
	}
	return pkgVerify(ctx, c, m, before, todo, m.InstallFiles(ctx, files))
}

func pkgLatest(ctx context.Context, c *Call) Ret {
	m, err := c.packages()
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if c.Args.Bool("refresh") && !c.Test {
		if err := m.Refresh(ctx); err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
	}
	before, err := m.List(ctx)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	var todo []pkgmgr.Target
	would := map[string]any{}
	targets := pkgTargets(c)
	var tnames []string
	for _, t := range targets {
		tnames = append(tnames, t.Name)
	}
	cands, err := m.Candidates(ctx, tnames)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	for _, t := range targets {
		cand := cands[t.Name]
		p, installed := before[t.Name]
		if cand == "" {
			if installed && !p.ConfigOnly {
				continue // installed, nothing newer known
			}
			return Ret{Result: False, Comment: fmt.Sprintf("No information found for %s", t.Name)}
		}
		if installed && !p.ConfigOnly {
			if cmp, err := m.Compare(ctx, p.Version, cand); err != nil || cmp >= 0 {
				continue
			}
		}
		todo = append(todo, pkgmgr.Target{Name: t.Name, Version: cand})
		would[t.Name] = map[string]any{"old": p.Version, "new": cand}
	}
	if len(todo) == 0 {
		return Ret{Result: True, Comment: "All packages are up-to-date"}
	}
	if c.Test {
		return Ret{Result: None, Changes: would, Comment: "The following packages would be installed/upgraded: " + names(todo)}
	}
	return pkgVerify(ctx, c, m, before, todo, m.Install(ctx, todo, false))
}

func pkgRemove(purge bool) func(ctx context.Context, c *Call) Ret {
	verb := "removed"
	if purge {
		verb = "purged"
	}
	return func(ctx context.Context, c *Call) Ret {
		m, err := c.packages()
		if err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		before, err := m.List(ctx)
		if err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		var todo []pkgmgr.Target
		would := map[string]any{}
		for _, t := range pkgTargets(c) {
			p, ok := before[t.Name]
			if !ok || p.ConfigOnly && !purge {
				continue
			}
			if t.Version != "" && !p.ConfigOnly {
				if sat, _ := pkgmgr.Satisfies(ctx, m, p.Version, t.Version); !sat {
					continue
				}
			}
			todo = append(todo, t)
			would[t.Name] = map[string]any{"old": p.Version, "new": ""}
		}
		if len(todo) == 0 {
			return Ret{Result: True, Comment: fmt.Sprintf("None of the targeted packages are installed%s", map[bool]string{true: " or partially installed", false: ""}[purge])}
		}
		if c.Test {
			return Ret{Result: None, Changes: would, Comment: fmt.Sprintf("The following packages will be %s: %s", verb, names(todo))}
		}
		var ns []string
		for _, t := range todo {
			ns = append(ns, t.Name)
		}
		rerr := m.Remove(ctx, ns, purge)
		after, err := m.List(ctx)
		if err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		ch := pkgDiff(before, after)
		var failed []string
		for _, n := range ns {
			if p, ok := after[n]; ok && (!p.ConfigOnly || purge) {
				failed = append(failed, n)
			}
		}
		if purge {
			for _, n := range ns {
				if _, gone := after[n]; !gone && before[n].ConfigOnly {
					ch[n] = map[string]any{"old": "", "new": ""}
				}
			}
		}
		if len(failed) > 0 || rerr != nil {
			msg := fmt.Sprintf("The following packages were not %s: %s", verb, strings.Join(failed, ", "))
			if rerr != nil {
				msg += "\n" + rerr.Error()
			}
			return Ret{Result: False, Changes: ch, Comment: msg}
		}
		return Ret{Result: True, Changes: ch, Comment: fmt.Sprintf("All targeted packages were %s.", verb)}
	}
}
