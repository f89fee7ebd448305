package state

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrCompile wraps every SLS compile error (bad structure, conflicting IDs,
// missing includes, bad extends, requisite cycles and missing targets).
var ErrCompile = errors.New("state: compile")

// KV is one argument of a state declaration, in written order.
type KV struct {
	Key string
	Val any
}

// ModDecl is one state module within an ID declaration: "file.managed" with
// its arguments.
type ModDecl struct {
	Module string
	Fun    string
	Args   []KV
	// autoOrder is Salt's state_auto_order position (10000 + n in load
	// order), used when no explicit order argument is given.
	autoOrder int
}

// Arg returns the argument key, and whether it is set.
func (m *ModDecl) Arg(key string) (any, bool) {
	for _, a := range m.Args {
		if a.Key == key {
			return a.Val, true
		}
	}
	return nil, false
}

func (m *ModDecl) setArg(key string, v any) {
	for i, a := range m.Args {
		if a.Key == key {
			m.Args[i].Val = v
			return
		}
	}
	m.Args = append(m.Args, KV{key, v})
}

// IDDecl is one ID declaration of high data.
type IDDecl struct {
	ID   string
	SLS  string
	Env  string
	Mods []*ModDecl
}

// Mod returns the declaration of module mod in this ID.
func (d *IDDecl) Mod(mod string) *ModDecl {
	for _, m := range d.Mods {
		if m.Module == mod {
			return m
		}
	}
	return nil
}

// High is compiled high data: ID declarations in load order.
type High struct {
	order []string
	decls map[string]*IDDecl
}

func newHigh() *High { return &High{decls: map[string]*IDDecl{}} }

// IDs returns the ID declarations in load order.
func (h *High) IDs() []*IDDecl {
	out := make([]*IDDecl, 0, len(h.order))
	for _, id := range h.order {
		out = append(out, h.decls[id])
	}
	return out
}

// Lookup returns the declaration of id.
func (h *High) Lookup(id string) (*IDDecl, bool) {
	d, ok := h.decls[id]
	return d, ok
}

func (h *High) add(d *IDDecl) {
	if _, ok := h.decls[d.ID]; !ok {
		h.order = append(h.order, d.ID)
	}
	h.decls[d.ID] = d
}

func (h *High) remove(id string) {
	if _, ok := h.decls[id]; !ok {
		return
	}
	delete(h.decls, id)
	for i, x := range h.order {
		if x == id {
			h.order = append(h.order[:i:i], h.order[i+1:]...)
			return
		}
	}
}

// Data returns the high data in Salt's shape (state.show_sls):
// {id: {module: [fun, {arg: val}, ...], __sls__, __env__}}.
func (h *High) Data() *Map {
	out := NewMap()
	for _, d := range h.IDs() {
		body := NewMap()
		for _, m := range d.Mods {
			list := []any{m.Fun}
			for _, a := range m.Args {
				kv := NewMap()
				kv.Set(a.Key, a.Val)
				list = append(list, kv)
			}
			if _, ok := m.Arg("order"); !ok {
				kv := NewMap()
				kv.Set("order", int64(m.autoOrder))
				list = append(list, kv)
			}
			body.Set(m.Module, list)
		}
		body.Set("__sls__", d.SLS)
		body.Set("__env__", d.Env)
		out.Set(d.ID, body)
	}
	return out
}

// parseIDBody turns the value under an ID into module declarations. When
// needFun is false (extend), a module may come without a function.
func parseIDBody(id, where string, body any, needFun bool) ([]*ModDecl, error) {
	if s, ok := body.(string); ok {
		mod, fun, found := strings.Cut(s, ".")
		if !found || mod == "" || fun == "" {
			return nil, fmt.Errorf("%w: ID %q in %s: %q is not a state function (want module.function)", ErrCompile, id, where, s)
		}
		return []*ModDecl{{Module: mod, Fun: fun}}, nil
	}
	m, ok := body.(*Map)
	if !ok {
		return nil, fmt.Errorf("%w: ID %q in %s is not a dictionary (got %s)", ErrCompile, id, where, typeName(body))
	}
	var mods []*ModDecl
	get := func(mod string) *ModDecl {
		for _, d := range mods {
			if d.Module == mod {
				return d
			}
		}
		d := &ModDecl{Module: mod}
		mods = append(mods, d)
		return d
	}
	for _, key := range m.Keys {
		if strings.HasPrefix(key, "__") {
			continue
		}
		val := m.Values[key]
		mod, fun, dotted := strings.Cut(key, ".")
		if dotted && strings.Contains(fun, ".") {
			return nil, fmt.Errorf("%w: ID %q in %s: bad state %q", ErrCompile, id, where, key)
		}
		d := get(mod)
		if dotted {
			if d.Fun != "" && d.Fun != fun {
				return nil, fmt.Errorf("%w: ID %q in %s: too many functions declared in state %q (%s and %s)", ErrCompile, id, where, mod, d.Fun, fun)
			}
			d.Fun = fun
		}
		var list []any
		switch v := val.(type) {
		case nil:
		case []any:
			list = v
		default:
			return nil, fmt.Errorf("%w: ID %q in %s: the arguments of %q are not formatted as a list", ErrCompile, id, where, key)
		}
		for _, item := range list {
			switch it := item.(type) {
			case string:
				if d.Fun != "" && d.Fun != it {
					return nil, fmt.Errorf("%w: ID %q in %s: too many functions declared in state %q (%s and %s)", ErrCompile, id, where, mod, d.Fun, it)
				}
				d.Fun = it
			case *Map:
				if it.Len() != 1 {
					return nil, fmt.Errorf("%w: ID %q in %s: argument %v of %q must be a single key: value pair", ErrCompile, id, where, it.Keys, key)
				}
				k := it.Keys[0]
				d.setArg(k, it.Values[k])
			default:
				return nil, fmt.Errorf("%w: ID %q in %s: argument of %q must be a key: value pair, got %s", ErrCompile, id, where, key, typeName(item))
			}
		}
	}
	if needFun {
		for _, d := range mods {
			if d.Fun == "" {
				return nil, fmt.Errorf("%w: ID %q in %s: no function declared in state %q", ErrCompile, id, where, d.Module)
			}
		}
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("%w: ID %q in %s declares no state", ErrCompile, id, where)
	}
	return mods, nil
}

// resolveInclude turns a relative include (".foo", "..foo") into an
// absolute SLS name, as Salt does: levels count from the including SLS,
// where an init.sls counts as one more level.
func resolveInclude(inc, from string, fromInit bool) (string, error) {
	if !strings.HasPrefix(inc, ".") {
		return inc, nil
	}
	rest := strings.TrimLeft(inc, ".")
	levels := len(inc) - len(rest)
	comps := strings.Split(from, ".")
	if fromInit {
		comps = append(comps, "init")
	}
	if levels > len(comps) {
		return "", fmt.Errorf("%w: include %q in SLS %q goes above the top of the tree", ErrCompile, inc, from)
	}
	parts := append([]string{}, comps[:len(comps)-levels]...)
	if rest != "" {
		parts = append(parts, rest)
	}
	return strings.Join(parts, "."), nil
}

// slsPaths are the files an SLS name may live in.
func slsPaths(sls string) []string {
	p := strings.ReplaceAll(sls, ".", "/")
	return []string{p + ".sls", path.Join(p, "init.sls")}
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case []any:
		return "a list"
	case *Map:
		return "a dictionary"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
