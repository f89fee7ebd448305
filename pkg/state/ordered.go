package state

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/brine-project/brine/pkg/render"

	"gopkg.in/yaml.v3"
)

// Map is a mapping that keeps its keys in the order they were written,
// because states run in definition order: pkg/render's ordered mapping, so
// rendered SLS data needs no conversion. Values are *Map, []any, string,
// int64, float64, bool or nil.
type Map = render.Map

// NewMap returns an empty Map.
func NewMap() *Map { return render.NewMap() }

// Ordered converts rendered data into this package's shapes: mappings
// become *Map (keeping order when the source kept it; a plain Go map gets
// its keys sorted), sequences become []any, and ints become int64.
func Ordered(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int64, float64:
		return x
	case int:
		return int64(x)
	case *Map:
		out := &Map{Keys: make([]string, 0, len(x.Keys)), Values: make(map[string]any, len(x.Keys))}
		for _, k := range x.Keys {
			out.Set(k, Ordered(x.Values[k]))
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := &Map{Values: make(map[string]any, len(x))}
		for _, k := range keys {
			out.Set(k, Ordered(x[k]))
		}
		return out
	case map[any]any:
		out := NewMap()
		keys := make([]string, 0, len(x))
		byKey := map[string]any{}
		for k, v := range x {
			ks := fmt.Sprint(k)
			keys = append(keys, ks)
			byKey[ks] = v
		}
		sort.Strings(keys)
		for _, k := range keys {
			out.Set(k, Ordered(byKey[k]))
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Ordered(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	}
	return orderedReflect(v)
}

// orderedReflect handles the other numeric, slice and map kinds.
func orderedReflect(v any) any {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint())
	case reflect.Float32:
		return rv.Float()
	case reflect.Slice:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = Ordered(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			m := map[string]any{}
			for _, k := range rv.MapKeys() {
				m[k.String()] = rv.MapIndex(k).Interface()
			}
			return Ordered(m)
		}
	}
	return v
}

// Plain converts *Map values (recursively) into map[string]any, the shape
// state functions receive their arguments in.
func Plain(v any) any { return render.Plain(v) }

// DecodeYAML parses YAML keeping mapping order; an empty document is nil.
func DecodeYAML(src []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	d := &yamlDecoder{active: map[*yaml.Node]bool{}}
	return d.fromNode(doc.Content[0])
}

// yamlDecoder guards alias expansion: an anchor that contains itself is an
// error, and expansion is bounded (a "billion laughs" document must not
// exhaust memory).
type yamlDecoder struct {
	active map[*yaml.Node]bool
	nodes  int
}

const maxYAMLNodes = 1 << 20

func (d *yamlDecoder) fromNode(n *yaml.Node) (any, error) {
	if d.nodes++; d.nodes > maxYAMLNodes {
		return nil, fmt.Errorf("state: yaml line %d: document expands to more than %d nodes", n.Line, maxYAMLNodes)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return d.fromNode(n.Content[0])
	case yaml.AliasNode:
		if d.active[n.Alias] {
			return nil, fmt.Errorf("state: yaml line %d: anchor %q contains itself", n.Line, n.Value)
		}
		d.active[n.Alias] = true
		defer delete(d.active, n.Alias)
		return d.fromNode(n.Alias)
	case yaml.MappingNode:
		m := NewMap()
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			val, err := d.fromNode(v)
			if err != nil {
				return nil, err
			}
			if k.Tag == "!!merge" {
				if mm, ok := val.(*Map); ok {
					for _, kk := range mm.Keys {
						if _, exists := m.Values[kk]; !exists {
							m.Set(kk, mm.Values[kk])
						}
					}
				}
				continue
			}
			m.Set(k.Value, val)
		}
		return m, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := d.fromNode(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, err
			}
			return b, nil
		case "!!int":
			// "0644" stays 644 (not octal 420): Salt users write file
			// modes that way and expect the digits they wrote.
			if len(n.Value) > 1 && n.Value[0] == '0' && strings.Trim(n.Value, "0123456789") == "" {
				i, err := strconv.ParseInt(n.Value, 10, 64)
				if err == nil {
					return i, nil
				}
			}
			var i int64
			if err := n.Decode(&i); err != nil {
				return n.Value, nil
			}
			return i, nil
		case "!!float":
			f, err := strconv.ParseFloat(n.Value, 64)
			if err != nil {
				var ff float64
				if err := n.Decode(&ff); err != nil {
					return n.Value, nil
				}
				return ff, nil
			}
			return f, nil
		}
		return n.Value, nil
	}
	return nil, fmt.Errorf("state: yaml line %d: unsupported node", n.Line)
}
