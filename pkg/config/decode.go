package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder walks a yaml.Node tree into Go values, collecting every problem
// instead of stopping at the first.
type decoder struct {
	source   string
	problems []Problem
}

func (d *decoder) addf(n *yaml.Node, key, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.problems = append(d.problems, Problem{Source: d.source, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (d *decoder) document(data []byte, v reflect.Value, key string) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// Syntax errors: yaml.v3 says "yaml: line N: msg".
		msg := err.Error()
		if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			d.problems = append(d.problems, Problem{Source: d.source, Line: line, Msg: m[2]})
		} else {
			d.problems = append(d.problems, Problem{Source: d.source, Msg: strings.TrimPrefix(msg, "yaml: ")})
		}
		return
	}
	if len(doc.Content) == 0 {
		return // empty file: all defaults
	}
	d.value(doc.Content[0], v, key)
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func (d *decoder) value(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.addf(n, key, "%s", cleanYAMLError(err))
		}
		return
	}
	if v.Type() == durationType {
		d.duration(n, v, key)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			v.SetZero()
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), key)
	case reflect.Struct:
		d.structure(n, v, key)
	case reflect.Map:
		d.mapping(n, v, key)
	case reflect.Slice:
		d.sequence(n, v, key)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.addf(n, key, "%s", cleanYAMLError(err))
			return
		}
		if x == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.scalar(n, v, key)
	}
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.ScalarNode {
		d.addf(n, key, "want %s, got %s", kindName(v.Type()), nodeKind(n))
		return
	}
	if isNull(n) {
		v.SetZero()
		return
	}
	if err := setScalar(v, n.Value, n.ShortTag()); err != nil {
		d.addf(n, key, "%v", err)
	}
}

// setScalar parses s into v by v's kind. tag is the YAML tag, or "" for
// environment text; a YAML string is not accepted for numbers or bools
// ("port: '80'" is a mistake worth reporting), environment text is.
func setScalar(v reflect.Value, s, tag string) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		if tag != "" && tag != "!!bool" {
			return fmt.Errorf("want true or false, got %q", s)
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if tag != "" && tag != "!!int" {
			return fmt.Errorf("want an integer, got %q", s)
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
		if err != nil || v.OverflowInt(i) {
			return fmt.Errorf("want an integer of %d bits, got %q", v.Type().Bits(), s)
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if tag != "" && tag != "!!int" {
			return fmt.Errorf("want a non-negative integer, got %q", s)
		}
		u, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 0, 64)
		if err != nil || v.OverflowUint(u) {
			return fmt.Errorf("want a non-negative integer of %d bits, got %q", v.Type().Bits(), s)
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		if tag != "" && tag != "!!int" && tag != "!!float" {
			return fmt.Errorf("want a number, got %q", s)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || v.OverflowFloat(f) {
			return fmt.Errorf("want a number, got %q", s)
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("unsupported field type %s", v.Type())
	}
	return nil
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.ScalarNode {
		d.addf(n, key, "want a duration, got %s", nodeKind(n))
		return
	}
	if isNull(n) {
		v.SetZero()
		return
	}
	dur, err := durationText(n.Value)
	if err != nil {
		d.addf(n, key, "%v", err)
		return
	}
	v.SetInt(int64(dur))
}

func durationText(s string) (int64, error) {
	if s == "0" {
		return 0, nil
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("duration %q needs a unit (e.g. %ss)", s, s)
	}
	dur, err := ParseDuration(s)
	return int64(dur), err
}

type fieldInfo struct {
	index []int
	name  string
}

// fields maps yaml keys to struct fields, following ",inline" structs.
func fields(t reflect.Type) map[string]fieldInfo {
	out := map[string]fieldInfo{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		inline := strings.Contains(","+opts+",", ",inline,") && f.Type.Kind() == reflect.Struct
		if name == "-" || (!f.IsExported() && !(inline && f.Anonymous)) {
			continue
		}
		if inline {
			for k, sub := range fields(f.Type) {
				out[k] = fieldInfo{index: append([]int{i}, sub.index...), name: sub.name}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = fieldInfo{index: []int{i}, name: name}
	}
	return out
}

func join(key, sub string) string {
	if key == "" {
		return sub
	}
	return key + "." + sub
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, key string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.addf(n, key, "want a mapping, got %s", nodeKind(n))
		return
	}
	known := fields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.ShortTag() == "!!merge" { // "<<: *defaults"
			d.merge(vn, v, key)
			continue
		}
		k := kn.Value
		path := join(key, k)
		if line, dup := seen[k]; dup {
			d.addf(kn, path, "duplicate key (first on line %d)", line)
			continue
		}
		seen[k] = kn.Line
		f, ok := known[k]
		if !ok {
			d.addf(kn, path, "unknown key%s", suggest(k, known))
			continue
		}
		d.value(vn, v.FieldByIndex(f.index), path)
	}
}

// merge applies YAML merge keys: one alias or a list of them.
func (d *decoder) merge(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind == yaml.SequenceNode {
		for _, item := range n.Content {
			d.merge(item, v, key)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.structure(n, v, key)
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, key string) {
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.MappingNode {
		d.addf(n, key, "want a mapping, got %s", nodeKind(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	kt, et := v.Type().Key(), v.Type().Elem()
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		path := join(key, kn.Value)
		k := reflect.New(kt).Elem()
		d.value(kn, k, path)
		e := reflect.New(et).Elem()
		d.value(vn, e, path)
		v.SetMapIndex(k, e)
	}
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, key string) {
	if isNull(n) {
		v.SetZero()
		return
	}
	items := n.Content
	switch n.Kind {
	case yaml.SequenceNode:
	case yaml.ScalarNode:
		items = []*yaml.Node{n} // one value where a list is allowed
	default:
		d.addf(n, key, "want a list, got %s", nodeKind(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, item := range items {
		d.value(item, s.Index(i), fmt.Sprintf("%s[%d]", key, i))
	}
	v.Set(s)
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + t.Kind().String()
}

// suggest names a known key close to an unknown one (a typo).
func suggest(k string, known map[string]fieldInfo) string {
	best, bestD := "", 3
	for name := range known {
		if d := distance(k, name); d < bestD || (d == bestD && best != "" && name < best) {
			best, bestD = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance, for short keys.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func cleanYAMLError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// overlayEnv applies BRINE_<KEY> for every top-level key of v.
func (d *decoder) overlayEnv(v reflect.Value, env func(string) (string, bool)) {
	known := fields(v.Type())
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		name := EnvPrefix + strings.ToUpper(k)
		s, ok := env(name)
		if !ok {
			continue
		}
		ed := &decoder{source: "env " + name}
		ed.envValue(s, v.FieldByIndex(known[k].index), k)
		d.problems = append(d.problems, ed.problems...)
	}
}

func (d *decoder) envValue(s string, v reflect.Value, key string) {
	if v.Kind() == reflect.Pointer && v.Type() != durationType {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	fail := func(err error) { d.problems = append(d.problems, Problem{Source: d.source, Msg: err.Error()}) }
	switch {
	case v.CanAddr() && v.Addr().Type().Implements(unmarshalerType):
		d.yamlText(s, v, key)
	case v.Type() == durationType:
		dur, err := durationText(strings.TrimSpace(s))
		if err != nil {
			fail(err)
			return
		}
		v.SetInt(dur)
	case v.Kind() == reflect.Slice && isScalarKind(v.Type().Elem()):
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		out := reflect.MakeSlice(v.Type(), len(parts), len(parts))
		for i, p := range parts {
			e := out.Index(i)
			var err error
			if e.Type() == durationType {
				var dur int64
				dur, err = durationText(p)
				e.SetInt(dur)
			} else {
				err = setScalar(e, p, "")
			}
			if err != nil {
				fail(fmt.Errorf("item %d: %w", i, err))
				return
			}
		}
		v.Set(out)
	case isScalarKind(v.Type()):
		if v.Kind() != reflect.String {
			s = strings.TrimSpace(s)
		}
		if err := setScalar(v, s, ""); err != nil {
			fail(err)
		}
	default:
		d.yamlText(s, v, key)
	}
}

// yamlText decodes an environment value written as YAML (maps, structs).
// It replaces the file's value rather than merging into it.
func (d *decoder) yamlText(s string, v reflect.Value, key string) {
	v.SetZero()
	d.document([]byte(s), v, key)
}

func isScalarKind(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}
