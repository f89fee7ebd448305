package render

import (
	"context"
	"errors"
	"fmt"
	"path"
	"reflect"
	"sort"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// ErrNoCaller is returned by salt['mod.fun'] for a function that is not
// answered locally when the render has no Caller (e.g. on the master).
var ErrNoCaller = errors.New("render: no execution-function caller in this context")

// saltFunc is the shape gonja calls with positional and keyword arguments.
type saltFunc func(va *exec.VarArgs) (any, error)

// saltObj is the template's "salt": salt['cmd.run'] and salt.cmd.run.
type saltObj struct {
	ctx context.Context
	c   *Context
}

func (s *saltObj) GetItem(key any) (*exec.Value, bool) {
	name, ok := key.(string)
	if !ok || !strings.Contains(name, ".") {
		return exec.AsValue(nil), false
	}
	return exec.AsValue(s.fn(name)), true
}

func (s *saltObj) GetAttribute(name string) (*exec.Value, bool) {
	return exec.AsValue(&saltModule{s: s, mod: name}), true
}

func (s *saltObj) String() string { return "<salt functions>" }

type saltModule struct {
	s   *saltObj
	mod string
}

func (m *saltModule) GetAttribute(name string) (*exec.Value, bool) {
	return exec.AsValue(m.s.fn(m.mod + "." + name)), true
}

func (m *saltModule) GetItem(key any) (*exec.Value, bool) {
	name, ok := key.(string)
	if !ok {
		return exec.AsValue(nil), false
	}
	return m.GetAttribute(name)
}

func (m *saltModule) String() string { return "<salt module " + m.mod + ">" }

// fn returns the callable for one dotted function name.
func (s *saltObj) fn(name string) saltFunc {
	return func(va *exec.VarArgs) (any, error) {
		args, kwargs := toGoArgs(va)
		if strings.HasSuffix(name, ".filter_by") {
			args, kwargs = filterByArgs(va)
		}
		if local, ok := localFuncs[name]; ok {
			return local(s.c, args, kwargs)
		}
		if s.c.Salt == nil {
			return nil, fmt.Errorf("%w: salt[%q]", ErrNoCaller, name)
		}
		out, err := s.c.Salt.Call(s.ctx, name, args, kwargs)
		if err != nil {
			return nil, fmt.Errorf("salt[%q]: %w", name, err)
		}
		return out, nil
	}
}

// localFunc answers a salt['...'] call from the render context itself:
// these must work on the master (pillar rendering) and must see the
// pillar being compiled, as in Salt.
type localFunc func(c *Context, args []any, kwargs map[string]any) (any, error)

var localFuncs map[string]localFunc

func init() {
	localFuncs = map[string]localFunc{
		"pillar.get": func(c *Context, a []any, kw map[string]any) (any, error) {
			return GetPath(c.Pillar, a, kw)
		},
		"grains.get": func(c *Context, a []any, kw map[string]any) (any, error) {
			return GetPath(c.Grains, a, kw)
		},
		"config.get": configGet,
		"pillar.items": func(c *Context, _ []any, _ map[string]any) (any, error) {
			return DeepCopy(orEmpty(c.Pillar)), nil
		},
		"pillar.raw": func(c *Context, _ []any, _ map[string]any) (any, error) {
			return DeepCopy(orEmpty(c.Pillar)), nil
		},
		"grains.items": func(c *Context, _ []any, _ map[string]any) (any, error) {
			return DeepCopy(orEmpty(c.Grains)), nil
		},
		"pillar.item": func(c *Context, a []any, kw map[string]any) (any, error) { return items(c.Pillar, a), nil },
		"grains.item": func(c *Context, a []any, kw map[string]any) (any, error) { return items(c.Grains, a), nil },
		"grains.filter_by": func(c *Context, a []any, kw map[string]any) (any, error) {
			return FilterBy(c.Grains, a, kw)
		},
		"pillar.filter_by": func(c *Context, a []any, kw map[string]any) (any, error) {
			if _, ok := kw["pillar"]; ok {
				kw["grain"] = kw["pillar"]
				delete(kw, "pillar")
			}
			return FilterBy(c.Pillar, a, kw)
		},
		"slsutil.merge":  mergeFunc,
		"defaults.merge": mergeFunc,
		"defaults.deepcopy": func(_ *Context, a []any, _ map[string]any) (any, error) {
			if len(a) != 1 {
				return nil, errors.New("defaults.deepcopy takes one argument")
			}
			return DeepCopy(a[0]), nil
		},
	}
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func items(m map[string]any, keys []any) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		ks := fmt.Sprint(k)
		if v, ok := Traverse(m, ks, ":"); ok {
			out[ks] = DeepCopy(v)
		}
	}
	return out
}

// GetPath implements pillar.get / grains.get: key (a ":"-path), default
// (Salt's default default is ""), merge (merge a dict default under the
// found dict) and delimiter.
func GetPath(data map[string]any, args []any, kwargs map[string]any) (any, error) {
	key, def, merge, delim := "", any(""), false, ":"
	if len(args) > 0 {
		key = fmt.Sprint(args[0])
	}
	if len(args) > 1 {
		def = args[1]
	}
	if v, ok := kwargs["key"]; ok {
		key = fmt.Sprint(v)
	}
	if v, ok := kwargs["default"]; ok {
		def = v
	}
	if v, ok := kwargs["merge"]; ok {
		merge = truthy(v)
	}
	if v, ok := kwargs["delimiter"]; ok {
		delim = fmt.Sprint(v)
	}
	if key == "" {
		return nil, errors.New("get: key is required")
	}
	v, ok := Traverse(data, key, delim)
	if !ok {
		return DeepCopy(def), nil
	}
	if merge {
		dm, dok := def.(map[string]any)
		vm, vok := v.(map[string]any)
		if dok && vok {
			return MergeRecurse(DeepCopy(dm).(map[string]any), vm, false), nil
		}
	}
	return DeepCopy(v), nil
}

// configGet looks in opts, then grains, then pillar, as config.get does.
func configGet(c *Context, a []any, kw map[string]any) (any, error) {
	for _, src := range []map[string]any{c.Opts, c.Grains, c.Pillar} {
		if len(a) == 0 {
			break
		}
		if v, ok := Traverse(src, fmt.Sprint(a[0]), ":"); ok {
			return DeepCopy(v), nil
		}
	}
	return GetPath(nil, a, kw)
}

func mergeFunc(_ *Context, a []any, kw map[string]any) (any, error) {
	if len(a) < 2 {
		return nil, errors.New("merge takes two mappings")
	}
	dst, ok1 := a[0].(map[string]any)
	src, ok2 := a[1].(map[string]any)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("merge: both arguments must be mappings, got %T and %T", a[0], a[1])
	}
	lists := truthy(kw["merge_lists"])
	if len(a) > 3 {
		lists = truthy(a[3])
	}
	if v, ok := kw["in_place"]; ok && !truthy(v) {
		dst = DeepCopy(dst).(map[string]any)
	}
	return MergeRecurse(dst, src, lists), nil
}

// FilterBy implements grains.filter_by (salt.utils.data.filter_by): the
// value of grain (default os_family) in data is matched against the keys of
// the lookup dict as glob patterns, in the dict's order; when nothing
// matches, the "default" key is used; "base" is merged under the result and
// "merge" on top.
func FilterBy(data map[string]any, args []any, kwargs map[string]any) (any, error) {
	get := func(i int, name string, def any) any {
		if v, ok := kwargs[name]; ok {
			return v
		}
		if i < len(args) {
			return args[i]
		}
		return def
	}
	var lookup *Map
	switch x := get(0, "lookup_dict", nil).(type) {
	case *Map:
		lookup = x
	case map[string]any:
		lookup = NewMap()
		for _, k := range sortedKeys(x) {
			lookup.Set(k, x[k])
		}
	default:
		return nil, fmt.Errorf("filter_by: lookup_dict must be a mapping, got %T", x)
	}
	grain := fmt.Sprint(get(1, "grain", "os_family"))
	merge := get(2, "merge", nil)
	def := fmt.Sprint(get(3, "default", "default"))
	base, _ := get(4, "base", nil).(string)

	val, _ := Traverse(data, grain, ":")
	candidates := []any{val}
	if l, ok := val.([]any); ok {
		candidates = l
	}
	var ret any
	found := false
	for _, each := range candidates {
		if each == nil {
			continue
		}
		s := fmt.Sprint(each)
		for _, k := range lookup.Keys {
			if ok, _ := path.Match(k, s); ok || k == s {
				ret, found = lookup.Values[k], true
				break
			}
		}
		if found {
			break
		}
	}
	if !found {
		ret = lookup.Values[def]
	}
	ret = Plain(DeepCopy(ret))
	if base != "" {
		if bv, ok := lookup.Values[base]; ok {
			bm, isMap := Plain(DeepCopy(bv)).(map[string]any)
			switch {
			case ret == nil:
				ret = Plain(DeepCopy(bv))
			case isMap:
				rm, ok := ret.(map[string]any)
				if !ok {
					return nil, errors.New("filter_by: default and look-up values must both be dictionaries")
				}
				ret = MergeRecurse(bm, rm, false)
			}
		}
	}
	if merge != nil {
		mm, ok := Plain(merge).(map[string]any)
		if !ok {
			return nil, errors.New("filter_by: merge argument must be a dictionary")
		}
		if ret == nil {
			return DeepCopy(mm), nil
		}
		rm, ok := ret.(map[string]any)
		if !ok {
			return nil, errors.New("filter_by: merge needs a dictionary result")
		}
		ret = MergeRecurse(rm, mm, false)
	}
	return ret, nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "", "0", "false", "no", "off", "n", "none":
			return false
		}
		return true
	case int64:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// pillarDict and grainsDict are the template's pillar and grains: plain
// dicts (pillar['x'], pillar.items()) whose get method takes ":"-paths
// and a default like Salt's.
type pillarDict map[string]any
type grainsDict map[string]any

func (p pillarDict) GetAttribute(name string) (*exec.Value, bool) {
	return saltDictMethod(map[string]any(p), name, false)
}

func (g grainsDict) GetAttribute(name string) (*exec.Value, bool) {
	return saltDictMethod(map[string]any(g), name, true)
}

func saltDictMethod(m map[string]any, name string, grains bool) (*exec.Value, bool) {
	switch name {
	case "get":
		return exec.AsValue(saltFunc(func(va *exec.VarArgs) (any, error) {
			a, kw := toGoArgs(va)
			return GetPath(m, a, kw)
		})), true
	case "filter_by":
		if grains {
			return exec.AsValue(saltFunc(func(va *exec.VarArgs) (any, error) {
				a, kw := filterByArgs(va)
				return FilterBy(m, a, kw)
			})), true
		}
	}
	// Not ours: gonja then tries items and its dict methods (items, keys...).
	return exec.AsValue(nil), false
}

// toGoArgs converts gonja call arguments to plain Go values.
func toGoArgs(va *exec.VarArgs) ([]any, map[string]any) {
	args := make([]any, 0, len(va.Args))
	for _, v := range va.Args {
		args = append(args, toGo(v, false))
	}
	kwargs := make(map[string]any, len(va.KwArgs))
	for k, v := range va.KwArgs {
		kwargs[k] = toGo(v, false)
	}
	return args, kwargs
}

// filterByArgs is toGoArgs keeping the lookup dict (first argument or
// lookup_dict=) in its written order when it is a dict literal, since
// filter_by tries its keys in order.
func filterByArgs(va *exec.VarArgs) ([]any, map[string]any) {
	args, kwargs := toGoArgs(va)
	if len(va.Args) > 0 {
		if _, ok := va.Args[0].Interface().(*exec.Dict); ok {
			args[0] = toGo(va.Args[0], true)
		}
	}
	if v, ok := va.KwArgs["lookup_dict"]; ok {
		kwargs["lookup_dict"] = toGo(v, true)
	}
	return args, kwargs
}

func toGoKw(va *exec.VarArgs) map[string]any {
	_, kw := toGoArgs(va)
	return kw
}

// toGo converts a template value into plain Go data: map[string]any (or an
// ordered *Map at the top when ordered), []any, string, int64, float64,
// bool, nil.
func toGo(v *exec.Value, ordered bool) any {
	if v == nil || v.IsNil() {
		return nil
	}
	switch x := v.Interface().(type) {
	case *exec.Dict:
		if ordered {
			m := NewMap()
			for _, p := range x.Pairs {
				m.Set(p.Key.String(), toGo(p.Value, false))
			}
			return m
		}
		m := make(map[string]any, len(x.Pairs))
		for _, p := range x.Pairs {
			m[p.Key.String()] = toGo(p.Value, false)
		}
		return m
	case *Map:
		if ordered {
			return x
		}
		return Plain(x)
	case pillarDict:
		return map[string]any(x)
	case grainsDict:
		return map[string]any(x)
	case *exec.Value:
		return toGo(x, ordered)
	case string, bool, int64, float64:
		return x
	}
	rv := v.Val
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Map:
		m := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			m[fmt.Sprint(iter.Key().Interface())] = toGo(exec.ToValue(iter.Value()), false)
		}
		return m
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = toGo(exec.ToValue(rv.Index(i)), false)
		}
		return out
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	}
	if rv.CanInterface() {
		return rv.Interface()
	}
	return nil
}

// sortedStrings is a small helper for deterministic output.
func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}
