package module

import (
	"context"
	"fmt"
	"os"

	"github.com/brine-project/brine/pkg/state/pkgmgr"
)

// Package execution functions (Salt's aptpkg), on pkg/state/pkgmgr.

func init() {
	names := Arg{Name: "name", Kind: String, Doc: "package name"}
	list := []Arg{
		names,
		{Name: "pkgs", Kind: List, KwOnly: true, Doc: "several packages: names or {name: version}"},
		{Name: "refresh", Kind: Bool, Default: false, KwOnly: true, Doc: "update the package metadata first"},
	}
	Default.Register(&Func{Name: "pkg.install", Doc: "Install packages; return {name: {old, new}} for what changed.",
		Args: append(list, Arg{Name: "version", Kind: String, KwOnly: true, Doc: "exact version of name"},
			Arg{Name: "sources", Kind: List, KwOnly: true, Doc: "[{name: /path/to.deb}] local package files"}),
		Run: pkgInstall})
	Default.Register(&Func{Name: "pkg.remove", Doc: "Remove packages; return {name: {old, new}}.", Args: list, Run: pkgRemoveFn(false)})
	Default.Register(&Func{Name: "pkg.purge", Doc: "Remove packages and their configuration; return {name: {old, new}}.", Args: list, Run: pkgRemoveFn(true)})
	Default.Register(&Func{Name: "pkg.list_pkgs", Doc: "Return {name: version} of installed packages.", Run: func(ctx context.Context, _ *Env, _ *Args) (any, error) {
		m, err := pkgmgr.Detect()
		if err != nil {
			return nil, err
		}
		return pkgInstalledVersions(ctx, m)
	}})
	Default.Register(&Func{Name: "pkg.version", Doc: "Return the installed version of one package (\"\" when absent), or {name: version} for several.",
		Varargs: true, Run: pkgVersions(false)})
	Default.Register(&Func{Name: "pkg.latest_version", Doc: "Return the newer version available for one package (\"\" when up to date), or {name: version} for several.",
		Varargs: true, Run: pkgVersions(true)})
	Default.Register(&Func{Name: "pkg.refresh_db", Doc: "Update the package metadata (apt-get update).", Run: func(ctx context.Context, _ *Env, _ *Args) (any, error) {
		m, err := pkgmgr.Detect()
		if err != nil {
			return nil, err
		}
		return true, m.Refresh(ctx)
	}})
}

func pkgInstalledVersions(ctx context.Context, m pkgmgr.Manager) (map[string]any, error) {
	all, err := m.List(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for n, p := range all {
		if !p.ConfigOnly {
			out[n] = p.Version
		}
	}
	return out, nil
}

func pkgNames(a *Args) []pkgmgr.Target {
	var out []pkgmgr.Target
	if n := a.String("name"); n != "" {
		out = append(out, pkgmgr.Target{Name: n, Version: a.String("version")})
	}
	for _, p := range a.List("pkgs") {
		switch x := p.(type) {
		case map[string]any:
			for n, v := range x {
				out = append(out, pkgmgr.Target{Name: n, Version: fmt.Sprint(v)})
			}
		default:
			out = append(out, pkgmgr.Target{Name: fmt.Sprint(x)})
		}
	}
	return out
}

func pkgChanges(before, after map[string]any) map[string]any {
	ch := map[string]any{}
	for _, m := range []map[string]any{before, after} {
		for n := range m {
			o, _ := before[n].(string)
			nw, _ := after[n].(string)
			if o != nw {
				ch[n] = map[string]any{"old": o, "new": nw}
			}
		}
	}
	return ch
}

func pkgInstall(ctx context.Context, _ *Env, a *Args) (any, error) {
	m, err := pkgmgr.Detect()
	if err != nil {
		return nil, err
	}
	before, err := pkgInstalledVersions(ctx, m)
	if err != nil {
		return nil, err
	}
	var ierr error
	if srcs := a.List("sources"); len(srcs) > 0 {
		var files []string
		for _, s := range srcs {
			sm, ok := s.(map[string]any)
			if !ok {
				return nil, badArg("pkg.install", "sources", "entries must be {name: path}")
			}
			for _, p := range sm {
				path := fmt.Sprint(p)
				if _, err := os.Stat(path); err != nil {
					return nil, badArg("pkg.install", "sources", "%s: %v", path, err)
				}
				files = append(files, path)
			}
		}
		ierr = m.InstallFiles(ctx, files)
	} else {
		targets := pkgNames(a)
		if len(targets) == 0 {
			return nil, badArg("pkg.install", "name", "give name, pkgs or sources")
		}
		ierr = m.Install(ctx, targets, a.Bool("refresh"))
	}
	after, err := pkgInstalledVersions(ctx, m)
	if err != nil {
		return nil, err
	}
	ch := pkgChanges(before, after)
	if ierr != nil {
		return nil, &RetcodeError{Retcode: 1, Err: fmt.Errorf("module: pkg.install: %w (changes: %v)", ierr, ch)}
	}
	return ch, nil
}

func pkgRemoveFn(purge bool) func(ctx context.Context, _ *Env, a *Args) (any, error) {
	return func(ctx context.Context, _ *Env, a *Args) (any, error) {
		m, err := pkgmgr.Detect()
		if err != nil {
			return nil, err
		}
		before, err := pkgInstalledVersions(ctx, m)
		if err != nil {
			return nil, err
		}
		all, err := m.List(ctx)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, t := range pkgNames(a) {
			if p, ok := all[t.Name]; ok && (!p.ConfigOnly || purge) {
				names = append(names, t.Name)
			}
		}
		if len(names) == 0 {
			return map[string]any{}, nil
		}
		rerr := m.Remove(ctx, names, purge)
		after, err := pkgInstalledVersions(ctx, m)
		if err != nil {
			return nil, err
		}
		if rerr != nil {
			return nil, rerr
		}
		return pkgChanges(before, after), nil
	}
}

func pkgVersions(latest bool) func(ctx context.Context, _ *Env, a *Args) (any, error) {
	return func(ctx context.Context, _ *Env, a *Args) (any, error) {
		m, err := pkgmgr.Detect()
		if err != nil {
			return nil, err
		}
		installed, err := pkgInstalledVersions(ctx, m)
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		var names []string
		for _, n := range a.Extra {
			names = append(names, fmt.Sprint(n))
		}
		cands := map[string]string{}
		if latest {
			if cands, err = m.Candidates(ctx, names); err != nil {
				return nil, err
			}
		}
		for _, name := range names {
			cur, _ := installed[name].(string)
			if !latest {
				out[name] = cur
				continue
			}
			cand := cands[name]
			if cur != "" && cand != "" {
				if c, err := m.Compare(ctx, cur, cand); err == nil && c >= 0 {
					cand = ""
				}
			}
			out[name] = cand
		}
		if len(a.Extra) == 1 {
			return out[fmt.Sprint(a.Extra[0])], nil
		}
		return out, nil
	}
}
