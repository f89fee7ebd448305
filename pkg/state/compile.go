package state

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"strings"
)

// Engine compiles and runs states for one state run. It is not safe for
// concurrent use; make one per run.
type Engine struct {
	reg  *Registry
	deps Deps
	opts Options
	log  *slog.Logger
}

// New returns an Engine running functions from reg (Default when nil).
func New(reg *Registry, deps Deps, opts Options) *Engine {
	if reg == nil {
		reg = Default
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Engine{reg: reg, deps: deps, opts: opts, log: opts.Log}
}

func (e *Engine) env(saltenv string) string {
	if saltenv != "" {
		return saltenv
	}
	if e.opts.Saltenv != "" {
		return e.opts.Saltenv
	}
	return "base"
}

// compiler accumulates high data while SLS files are rendered.
type compiler struct {
	e        *Engine
	ctx      context.Context
	high     *High
	done     map[string]bool // "env:sls" already rendered
	extends  []extendEntry
	excludes []excludeEntry
	errs     []error
	iorder   int
}

type extendEntry struct {
	env, sls string
	body     *Map
}

type excludeEntry struct {
	where string
	val   any
}

func (e *Engine) newCompiler(ctx context.Context) *compiler {
	return &compiler{e: e, ctx: ctx, high: newHigh(), done: map[string]bool{}, iorder: 10000}
}

// CompileSLS renders the named SLS (with their includes) from saltenv and
// returns the high data after extend, exclude and use are applied.
func (e *Engine) CompileSLS(ctx context.Context, saltenv string, mods ...string) (*High, error) {
	c := e.newCompiler(ctx)
	env := e.env(saltenv)
	for _, m := range mods {
		c.render(env, m, "")
	}
	return c.finish()
}

// CompileHighstate reads the top file(s), matches this minion and compiles
// every SLS it is assigned, environment by environment.
func (e *Engine) CompileHighstate(ctx context.Context) (*High, error) {
	top, err := e.Top(ctx)
	if err != nil {
		return nil, err
	}
	c := e.newCompiler(ctx)
	for _, env := range top.Keys {
		for _, sls := range top.Values[env].([]any) {
			c.render(env, sls.(string), "")
		}
	}
	return c.finish()
}

func (c *compiler) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%w: "+format, append([]any{ErrCompile}, args...)...))
}

func (c *compiler) finish() (*High, error) {
	if len(c.errs) == 0 {
		c.applyExtends()
	}
	if len(c.errs) == 0 {
		c.applyExcludes()
	}
	if len(c.errs) == 0 {
		c.applyUse()
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return c.high, nil
}

// load finds, fetches and renders one SLS.
func (c *compiler) load(env, sls string) (data any, fromInit bool, url string, err error) {
	if c.e.deps.Files == nil || c.e.deps.Renderer == nil {
		return nil, false, "", fmt.Errorf("state: no file client or renderer configured")
	}
	for i, p := range slsPaths(sls) {
		url = "salt://" + p
		local, gerr := c.e.deps.Files.GetFile(c.ctx, url, env)
		if IsNotFound(gerr) {
			continue
		}
		if gerr != nil {
			return nil, false, url, gerr
		}
		src, rerr := os.ReadFile(local)
		if rerr != nil {
			return nil, false, url, fmt.Errorf("state: read %s: %w", url, rerr)
		}
		in := c.e.renderInput(env, sls, url)
		out, rerr := c.e.deps.Renderer.RenderSLS(c.ctx, src, in)
		if rerr != nil {
			return nil, false, url, fmt.Errorf("state: rendering SLS %q (%s) in saltenv %q: %w", sls, url, env, rerr)
		}
		return Ordered(out), i == 1, url, nil
	}
	return nil, false, "", fmt.Errorf("%w: SLS %q in saltenv %q is not available on the file server", ErrNotFound, sls, env)
}

func (e *Engine) renderInput(env, sls, url string) RenderInput {
	return RenderInput{Saltenv: env, SLS: sls, Source: url, Grains: e.opts.Grains, Pillar: e.opts.Pillar, Opts: e.opts.Opts, Caller: e.deps.Caller}
}

// render compiles one SLS and, first, what it includes, so that included
// states are ordered before the including file's own (Salt's behaviour).
func (c *compiler) render(env, sls, from string) {
	key := env + ":" + sls
	if c.done[key] {
		return
	}
	c.done[key] = true
	data, fromInit, _, err := c.load(env, sls)
	if err != nil {
		if from != "" && IsNotFound(err) {
			c.fail("SLS %q included from %q is not available in saltenv %q", sls, from, env)
			return
		}
		c.errs = append(c.errs, err)
		return
	}
	if data == nil {
		return
	}
	top, ok := data.(*Map)
	if !ok {
		c.fail("SLS %q in saltenv %q does not render to a dictionary (got %s)", sls, env, typeName(data))
		return
	}
	where := fmt.Sprintf("SLS %q", sls)
	if inc, ok := top.Get("include"); ok {
		c.includes(env, sls, fromInit, inc)
	}
	for _, id := range top.Keys {
		body := top.Values[id]
		switch id {
		case "include":
			continue
		case "extend":
			m, ok := body.(*Map)
			if !ok {
				c.fail("extend in %s is not a dictionary", where)
				continue
			}
			c.extends = append(c.extends, extendEntry{env, sls, m})
			continue
		case "exclude":
			list, ok := body.([]any)
			if !ok {
				c.fail("exclude in %s is not a list", where)
				continue
			}
			for _, x := range list {
				c.excludes = append(c.excludes, excludeEntry{where, x})
			}
			continue
		}
		mods, err := parseIDBody(id, where, body, true)
		if err != nil {
			c.errs = append(c.errs, err)
			continue
		}
		if prev, dup := c.high.decls[id]; dup {
			c.fail("detected conflicting IDs, SLS IDs need to be globally unique: the conflicting ID is %q and is found in SLS '%s:%s' and SLS '%s:%s'", id, prev.Env, prev.SLS, env, sls)
			continue
		}
		for _, m := range mods {
			m.autoOrder = c.iorder
			c.iorder++
		}
		c.high.add(&IDDecl{ID: id, SLS: sls, Env: env, Mods: mods})
	}
}

func (c *compiler) includes(env, sls string, fromInit bool, inc any) {
	list, ok := inc.([]any)
	if !ok {
		c.fail("include in SLS %q is not a list", sls)
		return
	}
	for _, item := range list {
		ienv, names := env, []any{item}
		if m, ok := item.(*Map); ok && m.Len() == 1 {
			// {saltenv: sls} or {saltenv: [sls, ...]}
			ienv = m.Keys[0]
			switch v := m.Values[ienv].(type) {
			case []any:
				names = v
			default:
				names = []any{v}
			}
		}
		for _, n := range names {
			name, ok := n.(string)
			if !ok {
				c.fail("include entry %v in SLS %q is not an SLS name", n, sls)
				continue
			}
			abs, err := resolveInclude(name, sls, fromInit)
			if err != nil {
				c.errs = append(c.errs, err)
				continue
			}
			c.render(ienv, abs, sls)
		}
	}
}

// applyExtends merges extend blocks: requisite lists are appended to, other
// arguments replaced, as Salt does.
func (c *compiler) applyExtends() {
	for _, ext := range c.extends {
		for _, id := range ext.body.Keys {
			d, ok := c.high.decls[id]
			if !ok {
				c.fail("cannot extend ID %q in '%s:%s': it is not part of the high state", id, ext.env, ext.sls)
				continue
			}
			mods, err := parseIDBody(id, fmt.Sprintf("extend of SLS %q", ext.sls), ext.body.Values[id], false)
			if err != nil {
				c.errs = append(c.errs, err)
				continue
			}
			for _, em := range mods {
				m := d.Mod(em.Module)
				if m == nil {
					if em.Fun == "" {
						c.fail("extend of ID %q in SLS %q adds state %q without a function", id, ext.sls, em.Module)
						continue
					}
					em.autoOrder = c.iorder
					c.iorder++
					d.Mods = append(d.Mods, em)
					continue
				}
				if em.Fun != "" {
					m.Fun = em.Fun
				}
				for _, a := range em.Args {
					old, has := m.Arg(a.Key)
					if has && isRequisiteKey(a.Key) {
						m.setArg(a.Key, append(asList(old), asList(a.Val)...))
						continue
					}
					m.setArg(a.Key, a.Val)
				}
			}
		}
	}
}

func (c *compiler) applyExcludes() {
	entries := c.excludes
	for _, x := range c.e.opts.Exclude {
		entries = append(entries, excludeEntry{"the exclude argument", x})
	}
	for _, x := range entries {
		kind, target := "sls", ""
		switch v := x.val.(type) {
		case string:
			target = v
		case *Map:
			if v.Len() != 1 {
				c.fail("exclude entry in %s must be sls: NAME or id: NAME", x.where)
				continue
			}
			kind = v.Keys[0]
			target = fmt.Sprint(v.Values[kind])
		default:
			c.fail("exclude entry in %s must be sls: NAME or id: NAME", x.where)
			continue
		}
		for _, d := range c.high.IDs() {
			switch kind {
			case "sls":
				if globMatch(target, d.SLS) {
					c.high.remove(d.ID)
				}
			case "id":
				if globMatch(target, d.ID) {
					c.high.remove(d.ID)
				}
			default:
				c.fail("exclude entry %q in %s: want sls or id", kind, x.where)
			}
		}
	}
}

// applyUse copies the arguments of referenced states into states with use
// (and use_in), never overriding arguments already set and never copying
// name, names or requisites.
func (c *compiler) applyUse() {
	type useEdge struct {
		to   *ModDecl // receives arguments
		id   string
		ref  reqRef
		from string
	}
	var edges []useEdge
	for _, d := range c.high.IDs() {
		for _, m := range d.Mods {
			for _, key := range []string{"use", "use_in"} {
				v, ok := m.Arg(key)
				if !ok {
					continue
				}
				refs, err := parseRefs(v)
				if err != nil {
					c.fail("%s of %s %q in SLS %q: %v", key, m.Module, d.ID, d.SLS, err)
					continue
				}
				for _, r := range refs {
					if r.module == "" {
						r.module = m.Module
					}
					if key == "use" {
						edges = append(edges, useEdge{to: m, id: d.ID, ref: r, from: d.SLS})
						continue
					}
					// use_in: every matching state uses this one.
					found := false
					for _, t := range c.high.IDs() {
						tm := t.Mod(r.module)
						if tm == nil || !r.matchDecl(t, tm) {
							continue
						}
						found = true
						c.copyArgs(m, tm)
					}
					if !found {
						c.fail("use_in of %s %q in SLS %q refers to %s: %s, which matches no state", m.Module, d.ID, d.SLS, r.module, r.target)
					}
				}
			}
		}
	}
	for _, u := range edges {
		found := false
		for _, t := range c.high.IDs() {
			tm := t.Mod(u.ref.module)
			if tm == nil || tm == u.to || !u.ref.matchDecl(t, tm) {
				continue
			}
			found = true
			c.copyArgs(tm, u.to)
		}
		if !found {
			c.fail("use of %s %q in SLS %q refers to %s: %s, which matches no state", u.to.Module, u.id, u.from, u.ref.module, u.ref.target)
		}
	}
}

func (c *compiler) copyArgs(from, to *ModDecl) {
	for _, a := range from.Args {
		if a.Key == "name" || a.Key == "names" || isRequisiteKey(a.Key) || strings.HasPrefix(a.Key, "__") {
			continue
		}
		if _, has := to.Arg(a.Key); has {
			continue
		}
		to.Args = append(to.Args, KV{a.Key, a.Val})
	}
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func globMatch(pattern, s string) bool {
	if pattern == s {
		return true
	}
	if !strings.ContainsAny(pattern, "*?[") {
		return false
	}
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}
