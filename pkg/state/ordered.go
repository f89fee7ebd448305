package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Map is a mapping that keeps its keys in the order they were written,
// because states run in definition order. Values are *Map, []any, string,
// int64, float64, bool or nil.
type Map struct {
	Keys   []string
	Values map[string]any
}

// NewMap returns an empty Map.
func NewMap() *Map { return &Map{Values: map[string]any{}} }

// Len returns the number of keys.
func (m *Map) Len() int { return len(m.Keys) }

// Get returns the value under key.
func (m *Map) Get(key string) (any, bool) {
	v, ok := m.Values[key]
	return v, ok
}

// Set adds or replaces key; a new key goes last.
func (m *Map) Set(key string, v any) {
	if m.Values == nil {
		m.Values = map[string]any{}
	}
	if _, ok := m.Values[key]; !ok {
		m.Keys = append(m.Keys, key)
	}
	m.Values[key] = v
}

// Delete removes key, keeping the others in order.
func (m *Map) Delete(key string) {
	if _, ok := m.Values[key]; !ok {
		return
	}
	delete(m.Values, key)
	for i, k := range m.Keys {
		if k == key {
			m.Keys = append(m.Keys[:i:i], m.Keys[i+1:]...)
			return
		}
	}
}

// MarshalJSON writes the keys in order.
func (m *Map) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.Keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(m.Values[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Ordered converts rendered data into this package's shapes: mappings
// become *Map (keeping order when the source kept it: a *Map, or any
// pointer to a struct with fields Keys []string and Values map[string]any,
// such as pkg/render's Map; a plain Go map gets its keys sorted), sequences
// become []any, and ints become int64.
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

// orderedReflect handles foreign ordered maps and other numeric kinds.
func orderedReflect(v any) any {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		s := rv.Elem()
		if s.Kind() == reflect.Struct {
			keys, vals := s.FieldByName("Keys"), s.FieldByName("Values")
			if keys.IsValid() && vals.IsValid() && keys.Type() == reflect.TypeOf([]string(nil)) && vals.Kind() == reflect.Map && vals.Type().Key().Kind() == reflect.String {
				out := NewMap()
				for _, k := range keys.Interface().([]string) {
					e := vals.MapIndex(reflect.ValueOf(k).Convert(vals.Type().Key()))
					if e.IsValid() {
						out.Set(k, Ordered(e.Interface()))
					} else {
						out.Set(k, nil)
					}
				}
				return out
			}
		}
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
func Plain(v any) any {
	switch x := v.(type) {
	case *Map:
		out := make(map[string]any, len(x.Keys))
		for _, k := range x.Keys {
			out[k] = Plain(x.Values[k])
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Plain(e)
		}
		return out
	}
	return v
}

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
