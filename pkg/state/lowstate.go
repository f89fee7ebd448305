package state

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Requisite kinds as written in SLS files.
var requisiteKinds = []string{"require", "watch", "onchanges", "onfail", "prereq", "listen", "use", "require_any", "watch_any", "onchanges_any", "onfail_any", "onchanges_all", "onfail_all"}

func isRequisiteKey(k string) bool {
	k = strings.TrimSuffix(k, "_in")
	for _, r := range requisiteKinds {
		if k == r {
			return true
		}
	}
	return false
}

// canonicalKind folds the *_any spellings onto the kinds the engine runs:
// onchanges and onfail are already "any" in Salt; require_any/watch_any keep
// their own kind.
func canonicalKind(k string) string {
	switch k {
	case "onchanges_any":
		return "onchanges"
	case "onfail_any":
		return "onfail"
	}
	return k
}

// Chunk is one low chunk: a single call of a state function.
type Chunk struct {
	ID     string
	Name   string
	Module string
	Fun    string
	SLS    string
	Env    string
	Order  float64
	// Args are the function's arguments in written order, without name,
	// names, order, failhard and requisites.
	Args     []KV
	Failhard bool
	// Parallel runs the state in the background (parallel: True).
	Parallel bool

	raw     []rawReq
	deps    []dep
	listens []*Chunk // states whose changes fire this chunk's mod_watch at the end
	index   int
}

type rawReq struct {
	kind string // "require", "watch_in", ...
	val  any
}

type dep struct {
	kind string // require, watch, onchanges, onfail, prereq, prerequired, require_any, watch_any
	c    *Chunk
}

// Tag is the chunk's result key, "<mod>_|-<id>_|-<name>_|-<fun>".
func (c *Chunk) Tag() string {
	return c.Module + "_|-" + c.ID + "_|-" + c.Name + "_|-" + c.Fun
}

// Func is the dotted state function name.
func (c *Chunk) Func() string { return c.Module + "." + c.Fun }

func (c *Chunk) label() string {
	return fmt.Sprintf("%s: %s (SLS %q)", c.Module, c.ID, c.SLS)
}

// Low returns the chunk as Salt's low data (state.show_lowstate).
func (c *Chunk) Low() *Map {
	m := NewMap()
	m.Set("state", c.Module)
	m.Set("__id__", c.ID)
	m.Set("name", c.Name)
	m.Set("fun", c.Fun)
	m.Set("__sls__", c.SLS)
	m.Set("__env__", c.Env)
	for _, a := range c.Args {
		m.Set(a.Key, a.Val)
	}
	for _, r := range c.raw {
		m.Set(r.kind, r.val)
	}
	if c.Failhard {
		m.Set("failhard", true)
	}
	if c.Parallel {
		m.Set("parallel", true)
	}
	if c.Order == math.Trunc(c.Order) {
		m.Set("order", int64(c.Order))
	} else {
		m.Set("order", c.Order)
	}
	return m
}

// Lowstate flattens high data into ordered chunks with resolved requisites.
func (e *Engine) Lowstate(h *High) ([]*Chunk, error) {
	var chunks []*Chunk
	var errs []error
	type pending struct {
		c         *Chunk
		order     any
		hasOrder  bool
		nameOrder int
		auto      int
	}
	var ps []pending
	for _, d := range h.IDs() {
		for _, m := range d.Mods {
			base := &Chunk{ID: d.ID, Name: d.ID, Module: m.Module, Fun: m.Fun, SLS: d.SLS, Env: d.Env}
			var names []any
			var order any
			hasOrder := false
			for _, a := range m.Args {
				switch {
				case a.Key == "names":
					names = asList(a.Val)
				case a.Key == "name":
					base.Name = scalarString(a.Val)
				case a.Key == "order":
					order, hasOrder = a.Val, true
				case a.Key == "failhard":
					base.Failhard = truthy(a.Val)
				case a.Key == "parallel":
					base.Parallel = truthy(a.Val)
				case a.Key == "state" || a.Key == "fun":
					// Salt drops a state override inside the arguments.
				case isRequisiteKey(a.Key):
					if !strings.HasPrefix(a.Key, "use") {
						base.raw = append(base.raw, rawReq{a.Key, a.Val})
					}
				default:
					base.Args = append(base.Args, a)
				}
			}
			if len(names) == 0 {
				ps = append(ps, pending{base, order, hasOrder, 0, m.autoOrder})
				continue
			}
			for i, n := range names {
				live := *base
				live.Args = append([]KV{}, base.Args...)
				live.raw = append([]rawReq{}, base.raw...)
				switch v := n.(type) {
				case *Map:
					if v.Len() != 1 {
						errs = append(errs, fmt.Errorf("%w: names entry of %s %q in SLS %q must be a name or a single name: [args] mapping", ErrCompile, m.Module, d.ID, d.SLS))
						continue
					}
					live.Name = v.Keys[0]
					for _, ov := range asList(v.Values[v.Keys[0]]) {
						om, ok := ov.(*Map)
						if !ok || om.Len() != 1 {
							errs = append(errs, fmt.Errorf("%w: names entry %q of %q in SLS %q: arguments must be key: value pairs", ErrCompile, live.Name, d.ID, d.SLS))
							continue
						}
						k := om.Keys[0]
						if isRequisiteKey(k) {
							live.raw = append(live.raw, rawReq{k, om.Values[k]})
						} else {
							live.Args = setKV(live.Args, k, om.Values[k])
						}
					}
				default:
					live.Name = scalarString(v)
				}
				ps = append(ps, pending{&live, order, hasOrder, i + 1, m.autoOrder})
			}
		}
	}
	// Salt's order_chunks: cap is 100 above the largest numeric order.
	maxOrder := 0.0
	for _, p := range ps {
		o := float64(p.auto)
		if p.hasOrder {
			if n, ok := number(p.order); ok {
				o = n
			} else {
				continue
			}
		}
		if o > maxOrder {
			maxOrder = o
		}
	}
	cap := maxOrder + 100
	for _, p := range ps {
		o := float64(p.auto)
		if p.hasOrder {
			if n, ok := number(p.order); ok {
				o = n
			} else if s, _ := p.order.(string); s == "first" {
				o = 0
			} else if s == "last" {
				o = cap + 1000000
			} else {
				o = cap
			}
			if o < 0 {
				o = cap + 1000000 + o
			}
		}
		if p.nameOrder > 0 {
			o += float64(p.nameOrder) / 10000.0
		}
		p.c.Order = o
		chunks = append(chunks, p.c)
	}
	sort.SliceStable(chunks, func(i, j int) bool {
		a, b := chunks[i], chunks[j]
		if a.Order != b.Order {
			return a.Order < b.Order
		}
		return a.Module+a.Name+a.Fun < b.Module+b.Name+b.Fun
	})
	for i, c := range chunks {
		c.index = i
	}
	if len(errs) == 0 {
		errs = append(errs, resolveRequisites(chunks)...)
	}
	if len(errs) == 0 {
		errs = append(errs, checkCycles(chunks)...)
	}
	if len(errs) > 0 {
		return nil, joinErrs(errs)
	}
	return chunks, nil
}

// reqRef is one parsed requisite target: "- pkg: nginx", "- nginx",
// "- sls: web".
type reqRef struct {
	module string // "" matches any module; "sls" selects by SLS
	target string
}

func parseRefs(v any) ([]reqRef, error) {
	var out []reqRef
	for _, item := range asList(v) {
		switch x := item.(type) {
		case string:
			out = append(out, reqRef{target: x})
		case *Map:
			for _, k := range x.Keys {
				switch t := x.Values[k].(type) {
				case string, int64, float64, bool:
					out = append(out, reqRef{module: k, target: scalarString(t)})
				case []any:
					for _, e := range t {
						out = append(out, reqRef{module: k, target: scalarString(e)})
					}
				default:
					return nil, fmt.Errorf("requisite %s: %v is not a state reference", k, t)
				}
			}
		default:
			return nil, fmt.Errorf("requisite entry %v is not a state reference", item)
		}
	}
	return out, nil
}

func (r reqRef) String() string {
	if r.module == "" {
		return r.target
	}
	return r.module + ": " + r.target
}

func (r reqRef) match(c *Chunk) bool {
	switch r.module {
	case "sls":
		return globMatch(r.target, c.SLS)
	case "id":
		return globMatch(r.target, c.ID)
	case "":
	default:
		if r.module != c.Module {
			return false
		}
	}
	return globMatch(r.target, c.ID) || globMatch(r.target, c.Name)
}

func (r reqRef) matchDecl(d *IDDecl, m *ModDecl) bool {
	if globMatch(r.target, d.ID) {
		return true
	}
	if n, ok := m.Arg("name"); ok {
		return globMatch(r.target, scalarString(n))
	}
	return false
}

// chunkIndex finds requisite targets without scanning every chunk when the
// reference is not a glob (large trees have thousands of requisites).
type chunkIndex struct {
	byID, byName, bySLS map[string][]*Chunk
}

func newChunkIndex(chunks []*Chunk) chunkIndex {
	ix := chunkIndex{byID: map[string][]*Chunk{}, byName: map[string][]*Chunk{}, bySLS: map[string][]*Chunk{}}
	for _, c := range chunks {
		ix.byID[c.ID] = append(ix.byID[c.ID], c)
		ix.byName[c.Name] = append(ix.byName[c.Name], c)
		ix.bySLS[c.SLS] = append(ix.bySLS[c.SLS], c)
	}
	return ix
}

func (ix chunkIndex) candidates(r reqRef, all []*Chunk) []*Chunk {
	if strings.ContainsAny(r.target, "*?[") {
		return all
	}
	switch r.module {
	case "sls":
		return ix.bySLS[r.target]
	case "id":
		return ix.byID[r.target]
	}
	return append(append([]*Chunk{}, ix.byID[r.target]...), ix.byName[r.target]...)
}

func resolveRequisites(chunks []*Chunk) []error {
	idx := newChunkIndex(chunks)
	var errs []error
	addDep := func(c *Chunk, kind string, t *Chunk) {
		for _, d := range c.deps {
			if d.kind == kind && d.c == t {
				return
			}
		}
		c.deps = append(c.deps, dep{kind, t})
	}
	for _, c := range chunks {
		for _, r := range c.raw {
			kind := canonicalKind(strings.TrimSuffix(r.kind, "_in"))
			in := strings.HasSuffix(r.kind, "_in")
			refs, err := parseRefs(r.val)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %s of %s: %v", ErrCompile, r.kind, c.label(), err))
				continue
			}
			for _, ref := range refs {
				var found []*Chunk
				for _, t := range idx.candidates(ref, chunks) {
					if t != c && ref.match(t) {
						found = appendUnique(found, t)
					}
				}
				if len(found) == 0 {
					errs = append(errs, fmt.Errorf("%w: %s %s has requisite %s: %s, which matches no state", ErrCompile, c.label(), c.Name, r.kind, ref))
					continue
				}
				for _, t := range found {
					from, to := c, t
					if in {
						from, to = t, c
					}
					switch kind {
					case "listen":
						from.listens = appendUnique(from.listens, to)
					case "prereq":
						addDep(from, "prereq", to)
						addDep(to, "prerequired", from)
					default:
						addDep(from, kind, to)
					}
				}
			}
		}
	}
	return errs
}

func appendUnique(l []*Chunk, c *Chunk) []*Chunk {
	for _, x := range l {
		if x == c {
			return l
		}
	}
	return append(l, c)
}

// waitsFor lists the chunks c must wait for before it runs: its direct
// requisites and, for prereq, the other requisites of the prereq target
// (which is test-run before c).
func waitsFor(c *Chunk) []*Chunk {
	var out []*Chunk
	for _, d := range c.deps {
		if d.kind != "prereq" {
			out = append(out, d.c)
			continue
		}
		for _, dd := range d.c.deps {
			if dd.kind == "prerequired" && dd.c == c {
				continue
			}
			out = append(out, dd.c)
		}
	}
	return out
}

func checkCycles(chunks []*Chunk) []error {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(chunks))
	var stack []*Chunk
	var errs []error
	var visit func(c *Chunk)
	visit = func(c *Chunk) {
		color[c.index] = grey
		stack = append(stack, c)
		for _, t := range waitsFor(c) {
			switch color[t.index] {
			case grey:
				var path []string
				start := 0
				for i, s := range stack {
					if s == t {
						start = i
					}
				}
				for _, s := range stack[start:] {
					path = append(path, s.label())
				}
				path = append(path, t.label())
				errs = append(errs, fmt.Errorf("%w: requisite cycle: %s", ErrCompile, strings.Join(path, " -> ")))
			case white:
				visit(t)
			}
		}
		stack = stack[:len(stack)-1]
		color[c.index] = black
	}
	for _, c := range chunks {
		if color[c.index] == white {
			visit(c)
		}
	}
	return errs
}

func setKV(args []KV, k string, v any) []KV {
	for i := range args {
		if args[i].Key == k {
			args[i].Val = v
			return args
		}
	}
	return append(args, KV{k, v})
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return fmt.Sprintf("%d", int64(x))
		}
	}
	return fmt.Sprint(v)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		switch strings.ToLower(x) {
		case "true", "yes", "on", "1":
			return true
		}
	case int64:
		return x != 0
	}
	return false
}

func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return &multiError{errs}
}

type multiError struct{ errs []error }

func (m *multiError) Error() string {
	var parts []string
	for _, e := range m.errs {
		parts = append(parts, e.Error())
	}
	return strings.Join(parts, "\n")
}

func (m *multiError) Unwrap() []error { return m.errs }
