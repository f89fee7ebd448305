package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Map is a YAML or JSON mapping that keeps the order its keys were written
// in, because state compilation runs states in definition order. Render
// returns every mapping of its result as a *Map; nested values are *Map,
// []any, string, int64, float64, bool or nil. Non-string keys (a port
// number, true) are kept as their literal text, as Salt's state compiler
// would stringify them too.
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

// Delete removes key, keeping the order of the others.
func (m *Map) Delete(key string) {
	if _, ok := m.Values[key]; !ok {
		return
	}
	delete(m.Values, key)
	for i, k := range m.Keys {
		if k == key {
			m.Keys = append(m.Keys[:i:i], m.Keys[i+1:]...)
			break
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

// MarshalYAML writes the keys in order.
func (m *Map) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range m.Keys {
		var kn, vn yaml.Node
		if err := kn.Encode(k); err != nil {
			return nil, err
		}
		if err := vn.Encode(m.Values[k]); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &kn, &vn)
	}
	return n, nil
}

// Plain converts v recursively so that every *Map becomes a
// map[string]any (losing order): what pillar data and template contexts
// use.
func Plain(v any) any {
	switch x := v.(type) {
	case *Map:
		out := make(map[string]any, len(x.Keys))
		for _, k := range x.Keys {
			out[k] = Plain(x.Values[k])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Plain(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Plain(e)
		}
		return out
	default:
		return v
	}
}

// PlainMap is Plain for a value expected to be a mapping; nil and empty
// documents give an empty map, anything else an error.
func PlainMap(v any) (map[string]any, error) {
	switch x := v.(type) {
	case nil:
		return map[string]any{}, nil
	case *Map, map[string]any:
		return Plain(x).(map[string]any), nil
	case string:
		if strings.TrimSpace(x) == "" {
			return map[string]any{}, nil
		}
	}
	return nil, fmt.Errorf("render: expected a mapping, got %T", v)
}

// decodeYAML parses YAML into ordered data. An empty document is nil.
func decodeYAML(src []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	return fromNode(doc.Content[0])
}

func fromNode(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return fromNode(n.Content[0])
	case yaml.AliasNode:
		return fromNode(n.Alias)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := fromNode(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		m := NewMap()
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				// "<<: *anchor" merges the anchored mapping's keys that are not set.
				if err := mergeKey(m, v); err != nil {
					return nil, err
				}
				continue
			}
			val, err := fromNode(v)
			if err != nil {
				return nil, err
			}
			key := k.Value
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: mapping keys must be scalars", k.Line)
			}
			if k.Tag == "!!null" {
				key = "None"
			}
			m.Set(key, val)
		}
		return m, nil
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

func mergeKey(m *Map, v *yaml.Node) error {
	src, err := fromNode(v)
	if err != nil {
		return err
	}
	var list []any
	switch x := src.(type) {
	case *Map:
		list = []any{x}
	case []any:
		list = x
	}
	for _, e := range list {
		if em, ok := e.(*Map); ok {
			for _, k := range em.Keys {
				if _, set := m.Values[k]; !set {
					m.Set(k, em.Values[k])
				}
			}
		}
	}
	return nil
}

func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		err := n.Decode(&b)
		return b, err
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		var f float64
		err := n.Decode(&f)
		return f, err
	case "!!float":
		var f float64
		err := n.Decode(&f)
		return f, err
	case "!!binary":
		var s []byte
		err := n.Decode(&s)
		return string(s), err
	}
	if n.Style == 0 {
		// Salt's loader is YAML 1.1 (PyYAML): plain yes/no/on/off are booleans.
		switch n.Value {
		case "yes", "Yes", "YES", "on", "On", "ON":
			return true, nil
		case "no", "No", "NO", "off", "Off", "OFF":
			return false, nil
		}
	}
	// Timestamps and other strings stay text.
	return n.Value, nil
}

// decodeJSON parses JSON into ordered data.
func decodeJSON(src []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(src))
	d.UseNumber()
	v, err := jsonValue(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("invalid character after top-level value at offset %d", d.InputOffset())
	}
	return v, nil
}

func jsonValue(d *json.Decoder) (any, error) {
	t, err := d.Token()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '{':
			m := NewMap()
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				v, err := jsonValue(d)
				if err != nil {
					return nil, err
				}
				m.Set(kt.(string), v)
			}
			_, err := d.Token()
			return m, err
		case '[':
			out := []any{}
			for d.More() {
				v, err := jsonValue(d)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			_, err := d.Token()
			return out, err
		}
		return nil, fmt.Errorf("unexpected %v at offset %d", x, d.InputOffset())
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		return x.Float64()
	default:
		return x, nil
	}
}

// Traverse looks up a "a:b:0"-style path in nested maps and lists, as
// Salt's traverse_dict_and_list does: a list element is taken by index or,
// for a list of one-key maps, by that key.
func Traverse(data any, path, delim string) (any, bool) {
	if delim == "" {
		delim = ":"
	}
	cur := data
	for _, part := range strings.Split(path, delim) {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[part]
			if !ok {
				return nil, false
			}
			cur = v
		case *Map:
			v, ok := x.Values[part]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			if i, err := strconv.Atoi(part); err == nil {
				if i < 0 || i >= len(x) {
					return nil, false
				}
				cur = x[i]
				continue
			}
			found := false
			for _, e := range x {
				if m, ok := e.(map[string]any); ok {
					if v, ok := m[part]; ok {
						cur, found = v, true
						break
					}
				}
			}
			if !found {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return cur, true
}

// MergeRecurse merges src into dst recursively (Salt's dictupdate.update):
// nested maps merge, anything else in src replaces dst's value. With
// mergeLists, lists are concatenated instead of replaced. dst is modified
// and returned.
func MergeRecurse(dst, src map[string]any, mergeLists bool) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, sv := range src {
		dv, ok := dst[k]
		if dm, isMap := dv.(map[string]any); ok && isMap {
			if sm, ok := sv.(map[string]any); ok {
				dst[k] = MergeRecurse(dm, sm, mergeLists)
				continue
			}
		}
		if dl, isList := dv.([]any); ok && isList && mergeLists {
			if sl, ok := sv.([]any); ok {
				dst[k] = append(append([]any{}, dl...), sl...)
				continue
			}
		}
		dst[k] = DeepCopy(sv)
	}
	return dst
}

// DeepCopy copies maps and lists so merges never alias their inputs.
func DeepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = DeepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = DeepCopy(e)
		}
		return out
	case *Map:
		out := NewMap()
		for _, k := range x.Keys {
			out.Set(k, DeepCopy(x.Values[k]))
		}
		return out
	}
	return v
}

// sortedKeys returns m's keys in sorted order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// normalizeNumber turns Go integer kinds into int64 and integral floats
// from JSON into int64, so templates and data agree on types.
func normalizeNumber(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return int64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}
