// Package pillar compiles a minion's pillar on the master, as Salt does:
// the pillar top file (top.sls of each pillar environment, rendered with the
// minion's grains) selects SLS files by matching its targets against the
// minion; each SLS is rendered with the minion's grains and the pillar
// accumulated so far and merged in, includes first-class; overrides (a
// job's pillar=...) merge last. Errors in one SLS do not hide the others:
// they are returned and listed under the "_errors" key, as Salt does.
//
// Pillar values are secrets: this package never logs them, and its errors
// carry file:line and the renderer's message but never the source or
// rendered line (use Error.Redacted for logs).
package pillar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/brine-project/brine/pkg/fileserver"
	"github.com/brine-project/brine/pkg/render"
	"github.com/brine-project/brine/pkg/target"
)

// Merge strategies, as Salt's pillar_source_merging_strategy.
const (
	// Smart is Salt's default; for YAML pillar it is Recurse.
	Smart = "smart"
	// Recurse merges nested mappings key by key; other values are replaced.
	Recurse = "recurse"
	// Overwrite replaces top-level keys that are set again, and merges the rest.
	Overwrite = "overwrite"
)

// ErrsKey is where compile errors are listed in the pillar, as in Salt.
const ErrsKey = "_errors"

// Error is one pillar compile error.
type Error struct {
	Env  string // pillar environment
	SLS  string // SLS name, "" for the top file
	File string // template file, e.g. "web/init.sls"
	Line int
	Err  error
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	return fmt.Sprintf("pillar: %s (env %s): %v", loc, e.Env, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Redacted is safe to log: where, never what (renderer messages can quote
// literal values from the file).
func (e *Error) Redacted() string {
	if e.Line > 0 {
		return fmt.Sprintf("pillar: %s:%d (env %s): compile error", e.File, e.Line, e.Env)
	}
	return fmt.Sprintf("pillar: %s (env %s): compile error", e.File, e.Env)
}

// Compiler compiles pillar for minions. Set the fields before the first
// Compile; it is then safe for concurrent use.
type Compiler struct {
	// Roots maps a pillar environment to its pillar_roots directories.
	Roots map[string][]string
	// Matcher evaluates top-file targets; nil means no nodegroups.
	Matcher *target.Matcher
	// MergeStrategy is Smart (default), Recurse or Overwrite.
	MergeStrategy string
	// MergeLists concatenates lists when merging (pillar_merge_lists).
	MergeLists bool
	// Opts is the templates' opts.
	Opts map[string]any
	// Salt answers salt['...'] calls in pillar templates beyond the local
	// ones (pillar.get, grains.get, grains.filter_by, ...); may be nil.
	Salt   render.Caller
	Logger *slog.Logger

	once sync.Once
	fs   *fileserver.Server
	err  error
}

func (c *Compiler) init() error {
	c.once.Do(func() {
		if c.Logger == nil {
			c.Logger = slog.New(slog.DiscardHandler)
		}
		if c.Matcher == nil {
			c.Matcher = &target.Matcher{}
		}
		switch c.MergeStrategy {
		case "", Smart, Recurse, Overwrite:
		default:
			c.err = fmt.Errorf("pillar: unknown merge strategy %q (want smart, recurse or overwrite)", c.MergeStrategy)
			return
		}
		// Pillar roots are served like file roots: same path checks.
		c.fs, c.err = fileserver.New(fileserver.Config{FileRoots: c.Roots})
	})
	return c.err
}

// envs returns the pillar environments to read top files from: base first.
func (c *Compiler) envs() []string {
	var out []string
	for e := range c.Roots {
		if e != "base" {
			out = append(out, e)
		}
	}
	sort.Strings(out)
	if _, ok := c.Roots["base"]; ok {
		out = append([]string{"base"}, out...)
	}
	return out
}

// Match is one top-file selection: SLS names of an environment, in order.
type Match struct {
	Env string
	SLS []string
}

// Top evaluates the top files for a minion and returns what it selects, in
// top-file order (Salt's pillar.show_top). With pillarenv set only that
// environment's sections count.
func (c *Compiler) Top(ctx context.Context, minionID string, grains map[string]any, pillarenv string) ([]Match, []error) {
	if err := c.init(); err != nil {
		return nil, []error{err}
	}
	var errs []error
	byEnv := map[string]*Match{}
	var order []string
	seenTarget := map[string]bool{}
	mn := target.Minion{ID: minionID, Grains: grains}
	for _, env := range c.envs() {
		src, err := c.fs.Read(env, "top.sls")
		if errors.Is(err, fileserver.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, &Error{Env: env, File: "top.sls", Err: err})
			continue
		}
		data, err := render.Render(ctx, "top.sls", src, c.renderContext(env, "", grains, map[string]any{}), c.fs.Loader(env))
		if err != nil {
			errs = append(errs, wrapRender(env, "", "top.sls", err))
			continue
		}
		top, ok := data.(*render.Map)
		if !ok {
			if data != nil {
				errs = append(errs, &Error{Env: env, File: "top.sls", Err: errors.New("top file is not a mapping")})
			}
			continue
		}
		for _, section := range top.Keys {
			if pillarenv != "" && section != pillarenv {
				continue
			}
			targets, ok := top.Values[section].(*render.Map)
			if !ok {
				continue
			}
			for _, tgt := range targets.Keys {
				// The first top file to use a target for a section wins.
				key := section + "\x00" + tgt
				if seenTarget[key] {
					continue
				}
				seenTarget[key] = true
				names, matchType := topEntry(targets.Values[tgt])
				ok, err := c.Matcher.Match(tgt, matchType, mn)
				if err != nil {
					errs = append(errs, &Error{Env: env, File: "top.sls", Err: fmt.Errorf("target %q: %w", tgt, err)})
					continue
				}
				if !ok {
					continue
				}
				m := byEnv[section]
				if m == nil {
					m = &Match{Env: section}
					byEnv[section] = m
					order = append(order, section)
				}
				for _, n := range names {
					if !containsStr(m.SLS, n) {
						m.SLS = append(m.SLS, n)
					}
				}
			}
		}
	}
	out := make([]Match, 0, len(order))
	for _, e := range order {
		out = append(out, *byEnv[e])
	}
	return out, errs
}

// topEntry reads "- match: grain" and the SLS names from a target's list.
func topEntry(v any) ([]string, string) {
	var names []string
	matchType := ""
	list, ok := v.([]any)
	if !ok {
		if s, isStr := v.(string); isStr {
			return []string{s}, ""
		}
		return nil, ""
	}
	for _, e := range list {
		switch x := e.(type) {
		case string:
			names = append(names, x)
		case *render.Map:
			if m, ok := x.Values["match"].(string); ok {
				matchType = m
			}
		}
	}
	return names, matchType
}

// Compile returns the minion's pillar and the errors met. The pillar holds
// the errors' messages under "_errors" too, so the minion sees them.
func (c *Compiler) Compile(ctx context.Context, minionID string, grains map[string]any, pillarenv string, overrides map[string]any) (map[string]any, []error) {
	if err := c.init(); err != nil {
		return map[string]any{ErrsKey: []any{err.Error()}}, []error{err}
	}
	matches, errs := c.Top(ctx, minionID, grains, pillarenv)
	pillar := map[string]any{}
	for _, m := range matches {
		if _, ok := c.Roots[m.Env]; !ok {
			errs = append(errs, &Error{Env: m.Env, File: "top.sls", Err: fmt.Errorf("pillar environment %q has no pillar_roots", m.Env)})
			continue
		}
		done := map[string]bool{}
		for _, sls := range m.SLS {
			data, serrs := c.renderSLS(ctx, m.Env, sls, grains, pillar, done, 0)
			errs = append(errs, serrs...)
			if data != nil {
				pillar = c.merge(pillar, data)
			}
		}
	}
	if len(overrides) > 0 {
		pillar = c.merge(pillar, render.DeepCopy(overrides).(map[string]any))
	}
	if len(errs) > 0 {
		msgs := make([]any, 0, len(errs))
		for _, e := range errs {
			msgs = append(msgs, e.Error())
		}
		pillar[ErrsKey] = msgs
	}
	c.Logger.Debug("pillar compiled", slog.String("minion", minionID), slog.Int("keys", len(pillar)), slog.Int("errors", len(errs)))
	return pillar, errs
}

func (c *Compiler) merge(dst, src map[string]any) map[string]any {
	if c.MergeStrategy == Overwrite {
		for k := range src {
			delete(dst, k)
		}
	}
	return render.MergeRecurse(dst, src, c.MergeLists)
}

// maxInclude bounds include depth (cycles are cut by the done set first).
const maxInclude = 64

// renderSLS renders one SLS and its includes; done holds the SLS already
// rendered in this environment, so each is merged once.
func (c *Compiler) renderSLS(ctx context.Context, env, sls string, grains, sofar map[string]any, done map[string]bool, depth int) (map[string]any, []error) {
	if done[sls] {
		return nil, nil
	}
	done[sls] = true
	if depth > maxInclude {
		return nil, []error{&Error{Env: env, SLS: sls, Err: errors.New("includes nested too deep")}}
	}
	file, src, err := c.findSLS(env, sls)
	if err != nil {
		return nil, []error{&Error{Env: env, SLS: sls, File: sls, Err: err}}
	}
	data, err := render.Render(ctx, file, src, c.renderContext(env, sls, grains, sofar), c.fs.Loader(env))
	if err != nil {
		return nil, []error{wrapRender(env, sls, file, err)}
	}
	m, ok := data.(*render.Map)
	if !ok {
		if data == nil {
			return map[string]any{}, nil
		}
		return nil, []error{&Error{Env: env, SLS: sls, File: file, Err: fmt.Errorf("SLS renders to %T, not a mapping", data)}}
	}
	var includes []any
	if inc, ok := m.Values["include"]; ok {
		includes, _ = inc.([]any)
		m.Delete("include")
	}
	state := render.Plain(m).(map[string]any)
	var errs []error
	for _, inc := range includes {
		pkg := sls
		if !strings.HasSuffix(file, "/init.sls") {
			pkg = ""
			if i := strings.LastIndex(sls, "."); i >= 0 {
				pkg = sls[:i]
			}
		}
		name, key := includeEntry(inc, pkg)
		if name == "" {
			errs = append(errs, &Error{Env: env, SLS: sls, File: file, Err: fmt.Errorf("bad include entry %v", inc)})
			continue
		}
		// Included files see what the including file defined so far.
		sub, serrs := c.renderSLS(ctx, env, name, grains, render.MergeRecurse(render.DeepCopy(sofar).(map[string]any), state, c.MergeLists), done, depth+1)
		errs = append(errs, serrs...)
		if sub == nil {
			continue
		}
		if key != "" {
			sub = nest(key, sub)
		}
		// As in Salt, included data merges over the including file's.
		state = c.merge(state, sub)
	}
	return state, errs
}

// includeEntry reads "- name" or "- name: {key: 'a:b'}"; relative names
// (".sibling") are resolved against pkg, the including SLS's package.
func includeEntry(v any, pkg string) (name, key string) {
	switch x := v.(type) {
	case string:
		name = x
	case *render.Map:
		if len(x.Keys) != 1 {
			return "", ""
		}
		name = x.Keys[0]
		if opts, ok := x.Values[name].(*render.Map); ok {
			key, _ = opts.Values["key"].(string)
		}
	default:
		return "", ""
	}
	if strings.HasPrefix(name, ".") {
		name = strings.TrimLeft(name, ".")
		if pkg != "" {
			name = pkg + "." + name
		}
	}
	return name, key
}

func nest(key string, v map[string]any) map[string]any {
	parts := strings.Split(key, ":")
	out := v
	for i := len(parts) - 1; i >= 0; i-- {
		out = map[string]any{parts[i]: out}
	}
	return out
}

// findSLS maps "web.role" to web/role.sls or web/role/init.sls.
func (c *Compiler) findSLS(env, sls string) (string, []byte, error) {
	rel := strings.ReplaceAll(sls, ".", "/")
	for _, file := range []string{rel + ".sls", rel + "/init.sls"} {
		src, err := c.fs.Read(env, file)
		if err == nil {
			return file, src, nil
		}
		if !errors.Is(err, fileserver.ErrNotFound) {
			return file, nil, err
		}
	}
	return "", nil, fmt.Errorf("specified SLS %q in environment %q is not available on the master", sls, env)
}

func (c *Compiler) renderContext(env, sls string, grains, sofar map[string]any) render.Context {
	return render.Context{
		Salt:    c.Salt,
		Grains:  grains,
		Pillar:  sofar,
		Opts:    c.Opts,
		Saltenv: env,
		SLS:     sls,
	}
}

// wrapRender keeps a render error's location and message but drops the
// quoted line: it may show a secret.
func wrapRender(env, sls, file string, err error) error {
	var re *render.Error
	if errors.As(err, &re) {
		return &Error{Env: env, SLS: sls, File: re.File, Line: re.Line, Err: fmt.Errorf("%s: %w", re.Stage, re.Err)}
	}
	return &Error{Env: env, SLS: sls, File: file, Err: err}
}

func containsStr(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}
