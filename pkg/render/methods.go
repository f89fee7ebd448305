package render

import (
	"errors"
	"fmt"
	"reflect"
	"sort"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// gonja's dict methods work on a copy (so {% do d.update(x) %}, the
// map.jinja idiom, changes nothing) and its lists only know append,
// reverse and copy. These method sets give Python's in-place semantics.

var brineMethods = exec.Methods{
	Bool:  builtins.Methods.Bool,
	Int:   builtins.Methods.Int,
	Float: builtins.Methods.Float,
	Str:   builtins.Methods.Str,
	Dict:  exec.NewMethodSet(dictMethods()),
	List:  exec.NewMethodSet(listMethods()),
}

type dictMethod = exec.Method[map[string]any]

// dictView gives read and in-place write access to either a Go map or a
// gonja dict literal behind a template value.
type dictView struct {
	m    reflect.Value // a map, or invalid
	dict *exec.Dict
}

func viewOf(v *exec.Value) (dictView, error) {
	if d, ok := v.Interface().(*exec.Dict); ok {
		return dictView{dict: d}, nil
	}
	rv := v.Val
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return dictView{}, fmt.Errorf("not a dict: %s", v.String())
	}
	return dictView{m: rv}, nil
}

func (d dictView) keys() []string {
	if d.dict != nil {
		out := make([]string, 0, len(d.dict.Pairs))
		for _, p := range d.dict.Pairs {
			out = append(out, p.Key.String())
		}
		return out
	}
	out := make([]string, 0, d.m.Len())
	for _, k := range d.m.MapKeys() {
		out = append(out, k.String())
	}
	sort.Strings(out)
	return out
}

func (d dictView) get(k string) (any, bool) {
	if d.dict != nil {
		for _, p := range d.dict.Pairs {
			if p.Key.String() == k {
				return p.Value.Interface(), true
			}
		}
		return nil, false
	}
	v := d.m.MapIndex(reflect.ValueOf(k).Convert(d.m.Type().Key()))
	if !v.IsValid() {
		return nil, false
	}
	return v.Interface(), true
}

func (d dictView) set(k string, v any) {
	if d.dict != nil {
		for _, p := range d.dict.Pairs {
			if p.Key.String() == k {
				p.Value = exec.AsValue(v)
				return
			}
		}
		d.dict.Pairs = append(d.dict.Pairs, &exec.Pair{Key: exec.AsValue(k), Value: exec.AsValue(v)})
		return
	}
	key := reflect.ValueOf(k).Convert(d.m.Type().Key())
	if v == nil {
		d.m.SetMapIndex(key, reflect.Zero(d.m.Type().Elem()))
		return
	}
	d.m.SetMapIndex(key, reflect.ValueOf(v))
}

func (d dictView) del(k string) {
	if d.dict != nil {
		for i, p := range d.dict.Pairs {
			if p.Key.String() == k {
				d.dict.Pairs = append(d.dict.Pairs[:i:i], d.dict.Pairs[i+1:]...)
				return
			}
		}
		return
	}
	d.m.SetMapIndex(reflect.ValueOf(k).Convert(d.m.Type().Key()), reflect.Value{})
}

func withView(f func(d dictView, a []any, kw map[string]any) (any, error)) dictMethod {
	return func(_ map[string]any, self *exec.Value, va *exec.VarArgs) (any, error) {
		d, err := viewOf(self)
		if err != nil {
			return nil, err
		}
		a, kw := toGoArgs(va)
		return f(d, a, kw)
	}
}

func dictMethods() map[string]dictMethod {
	return map[string]dictMethod{
		"keys": withView(func(d dictView, _ []any, _ map[string]any) (any, error) {
			out := []any{}
			for _, k := range d.keys() {
				out = append(out, k)
			}
			return out, nil
		}),
		"values": withView(func(d dictView, _ []any, _ map[string]any) (any, error) {
			out := []any{}
			for _, k := range d.keys() {
				v, _ := d.get(k)
				out = append(out, v)
			}
			return out, nil
		}),
		"items": withView(func(d dictView, _ []any, _ map[string]any) (any, error) {
			out := []any{}
			for _, k := range d.keys() {
				v, _ := d.get(k)
				out = append(out, []any{k, v})
			}
			return out, nil
		}),
		"get": withView(func(d dictView, a []any, _ map[string]any) (any, error) {
			if len(a) < 1 || len(a) > 2 {
				return nil, errors.New("get() takes a key and an optional default")
			}
			if v, ok := d.get(str(a[0])); ok {
				return v, nil
			}
			if len(a) == 2 {
				return a[1], nil
			}
			return nil, nil
		}),
		"pop": withView(func(d dictView, a []any, _ map[string]any) (any, error) {
			if len(a) < 1 {
				return nil, errors.New("pop() takes a key and an optional default")
			}
			k := str(a[0])
			v, ok := d.get(k)
			if !ok {
				if len(a) > 1 {
					return a[1], nil
				}
				return nil, fmt.Errorf("pop(): key %q not found", k)
			}
			d.del(k)
			return v, nil
		}),
		"setdefault": withView(func(d dictView, a []any, _ map[string]any) (any, error) {
			if len(a) < 1 {
				return nil, errors.New("setdefault() takes a key and an optional default")
			}
			k := str(a[0])
			if v, ok := d.get(k); ok {
				return v, nil
			}
			var def any
			if len(a) > 1 {
				def = a[1]
			}
			d.set(k, def)
			return def, nil
		}),
		"update": func(_ map[string]any, self *exec.Value, va *exec.VarArgs) (any, error) {
			d, err := viewOf(self)
			if err != nil {
				return nil, err
			}
			if len(va.Args) > 1 {
				return nil, errors.New("update() takes at most 1 positional argument")
			}
			if len(va.Args) == 1 {
				src, ok := toGo(va.Args[0], true).(*Map)
				if !ok {
					if m, isMap := toGo(va.Args[0], false).(map[string]any); isMap {
						src = NewMap()
						for _, k := range sortedKeys(m) {
							src.Set(k, m[k])
						}
					} else if !va.Args[0].IsNil() {
						return nil, fmt.Errorf("update(): argument is not a dict: %s", va.Args[0].String())
					}
				}
				if src != nil {
					for _, k := range src.Keys {
						d.set(k, Plain(src.Values[k]))
					}
				}
			}
			for k, v := range va.KwArgs {
				d.set(k, toGo(v, false))
			}
			return nil, nil
		},
		"copy": withView(func(d dictView, _ []any, _ map[string]any) (any, error) {
			out := map[string]any{}
			for _, k := range d.keys() {
				out[k], _ = d.get(k)
			}
			return out, nil
		}),
		"clear": withView(func(d dictView, _ []any, _ map[string]any) (any, error) {
			for _, k := range d.keys() {
				d.del(k)
			}
			return nil, nil
		}),
	}
}

type listMethod = exec.Method[[]any]

// listMethods change lists by replacing the value (Go slices cannot grow
// in place); the do tag writes the new list back where it came from.
func listMethods() map[string]listMethod {
	m := map[string]listMethod{}
	for name := range listMutators {
		name := name
		m[name] = func(self []any, selfValue *exec.Value, va *exec.VarArgs) (any, error) {
			out, ret, err := mutateList(name, self, va)
			if err != nil {
				return nil, err
			}
			*selfValue = *exec.AsValue(out)
			return ret, nil
		}
	}
	m["copy"] = func(self []any, _ *exec.Value, _ *exec.VarArgs) (any, error) {
		return append([]any{}, self...), nil
	}
	m["index"] = func(self []any, _ *exec.Value, va *exec.VarArgs) (any, error) {
		if len(va.Args) < 1 {
			return nil, errors.New("index() takes a value")
		}
		for i, e := range self {
			if exec.AsValue(e).EqualValueTo(va.Args[0]) {
				return int64(i), nil
			}
		}
		return nil, fmt.Errorf("index(): %s is not in list", va.Args[0].String())
	}
	m["count"] = func(self []any, _ *exec.Value, va *exec.VarArgs) (any, error) {
		if len(va.Args) < 1 {
			return nil, errors.New("count() takes a value")
		}
		n := int64(0)
		for _, e := range self {
			if exec.AsValue(e).EqualValueTo(va.Args[0]) {
				n++
			}
		}
		return n, nil
	}
	return m
}

var listMutators = map[string]bool{"append": true, "extend": true, "insert": true, "pop": true, "remove": true, "reverse": true, "sort": true, "clear": true}

// mutateList applies a Python list method and returns the new list and the
// method's own return value.
func mutateList(name string, self []any, va *exec.VarArgs) ([]any, any, error) {
	out := append([]any{}, self...)
	a, _ := toGoArgs(va)
	switch name {
	case "append":
		if len(a) != 1 {
			return nil, nil, errors.New("append() takes exactly one argument")
		}
		return append(out, a[0]), nil, nil
	case "extend":
		if len(a) != 1 {
			return nil, nil, errors.New("extend() takes exactly one argument")
		}
		return append(out, seq(a[0])...), nil, nil
	case "insert":
		if len(a) != 2 {
			return nil, nil, errors.New("insert() takes an index and a value")
		}
		i := int(toInt(a[0]))
		if i < 0 {
			i += len(out)
		}
		i = max(0, min(i, len(out)))
		out = append(out[:i], append([]any{a[1]}, out[i:]...)...)
		return out, nil, nil
	case "pop":
		if len(out) == 0 {
			return nil, nil, errors.New("pop from empty list")
		}
		i := len(out) - 1
		if len(a) > 0 {
			i = int(toInt(a[0]))
			if i < 0 {
				i += len(out)
			}
		}
		if i < 0 || i >= len(out) {
			return nil, nil, errors.New("pop index out of range")
		}
		v := out[i]
		return append(out[:i], out[i+1:]...), v, nil
	case "remove":
		if len(va.Args) != 1 {
			return nil, nil, errors.New("remove() takes exactly one argument")
		}
		for i, e := range out {
			if exec.AsValue(e).EqualValueTo(va.Args[0]) {
				return append(out[:i], out[i+1:]...), nil, nil
			}
		}
		return nil, nil, fmt.Errorf("remove(): %s not in list", va.Args[0].String())
	case "reverse":
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out, nil, nil
	case "sort":
		sort.SliceStable(out, func(i, j int) bool { return lessAny(out[i], out[j]) })
		return out, nil, nil
	case "clear":
		return []any{}, nil, nil
	}
	return nil, nil, fmt.Errorf("unknown list method %q", name)
}

func lessAny(x, y any) bool {
	fx, okx := asFloat(x)
	fy, oky := asFloat(y)
	if okx && oky {
		return fx < fy
	}
	return str(x) < str(y)
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// doCS replaces gonja's do tag: a list method called through do has its
// result stored back into the variable, dict or list it came from, even
// from inside a for loop, as Jinja's in-place mutation would.
type doCS struct {
	loc  *tokens.Token
	expr nodes.Expression
}

func (c *doCS) Position() *tokens.Token { return c.loc }
func (c *doCS) String() string          { return fmt.Sprintf("do(line %d)", c.loc.Line) }

func (c *doCS) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	if call, ok := c.expr.(*nodes.Call); ok {
		if ga, ok := call.Func.(*nodes.GetAttribute); ok && listMutators[ga.Attribute] {
			if target, ok := ga.Node.(nodes.Expression); ok {
				if handled, err := c.mutate(r, call, ga.Attribute, target); handled {
					return err
				}
			}
		}
	}
	v := r.Eval(c.expr)
	if v.IsError() {
		return v.Interface().(error)
	}
	return nil
}

func (c *doCS) mutate(r *exec.Renderer, call *nodes.Call, method string, target nodes.Expression) (bool, error) {
	tv := r.Eval(target)
	if tv.IsError() || !tv.IsList() {
		return false, nil
	}
	va := exec.NewVarArgs()
	for _, a := range call.Args {
		v := r.Eval(a)
		if v.IsError() {
			return true, v.Interface().(error)
		}
		va.Args = append(va.Args, v)
	}
	list, _ := toGo(tv, false).([]any)
	out, _, err := mutateList(method, list, va)
	if err != nil {
		return true, err
	}
	return true, assign(r, target, out)
}

// assign stores v where the expression target points: a variable (in the
// scope that defined it), a dict key or a list index.
func assign(r *exec.Renderer, target nodes.Expression, v any) error {
	switch n := target.(type) {
	case *nodes.Name:
		scope := definingScope(r.Environment.Context, n.Name.Val)
		if scope == nil {
			scope = r.Environment.Context
		}
		scope.Set(n.Name.Val, v)
		return nil
	case *nodes.GetAttribute:
		parent, ok := n.Node.(nodes.Expression)
		if !ok {
			return errors.New("cannot assign here")
		}
		if n.Attribute == "" {
			return setItem(r.Eval(parent), int64(n.Index), v)
		}
		return setItem(r.Eval(parent), n.Attribute, v)
	case *nodes.GetItem:
		parent, ok1 := n.Node.(nodes.Expression)
		key, ok2 := n.Arg.(nodes.Expression)
		if !ok1 || !ok2 {
			return errors.New("cannot assign here")
		}
		return setItem(r.Eval(parent), toGo(r.Eval(key), false), v)
	}
	return fmt.Errorf("cannot store the result into %s", target)
}

func setItem(container *exec.Value, key any, v any) error {
	if container.IsError() {
		return container.Interface().(error)
	}
	if k, ok := key.(string); ok {
		d, err := viewOf(container)
		if err != nil {
			return err
		}
		d.set(k, v)
		return nil
	}
	i, ok := key.(int64)
	rv := container.Val
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		rv = rv.Elem()
	}
	if !ok || rv.Kind() != reflect.Slice || int(i) >= rv.Len() || i < 0 {
		return fmt.Errorf("cannot store into %s[%v]", container.String(), key)
	}
	rv.Index(int(i)).Set(reflect.ValueOf(v))
	return nil
}

// definingScope finds the context level that holds name. exec.Context does
// not expose its parent chain, so this reads gonja's unexported fields by
// reflection; TestDefiningScope fails if gonja changes that layout, and
// the caller falls back to the current scope.
func definingScope(c *exec.Context, name string) *exec.Context {
	for cur := c; cur != nil; {
		rv := reflect.ValueOf(cur).Elem()
		data, parent := rv.FieldByName("data"), rv.FieldByName("parent")
		if !data.IsValid() || data.Kind() != reflect.Map || !parent.IsValid() || parent.Kind() != reflect.Pointer {
			return nil
		}
		if data.MapIndex(reflect.ValueOf(name)).IsValid() {
			return cur
		}
		if parent.IsNil() {
			return nil
		}
		cur = (*exec.Context)(parent.UnsafePointer())
	}
	return nil
}

func doParser(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
	c := &doCS{loc: p.Current()}
	expr, err := args.ParseExpression()
	if err != nil {
		return nil, err
	}
	c.expr = expr
	if !args.End() {
		return nil, args.Error("malformed do tag", args.Current())
	}
	return c, nil
}
