package target

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// DefaultDelimiter separates levels in grain and pillar paths ("a:b:c").
const DefaultDelimiter = ":"

// Traverse looks up a delimiter-separated path in nested maps and lists the
// way Salt's traverse_dict_and_list does (used by grains.get, pillar.get and
// the grain/pillar matchers): map keys by name; list elements by integer
// index (negative counts from the end), or, for a non-numeric part, the
// first map in the list holding that key. It returns def when any step is
// missing. An empty delim means ":".
func Traverse(data any, path string, def any, delim string) any {
	if delim == "" {
		delim = DefaultDelimiter
	}
	v, found := traverse(data, strings.Split(path, delim))
	if !found {
		return def
	}
	return v
}

// Lookup is Traverse reporting whether the path exists instead of taking a
// default.
func Lookup(data any, path, delim string) (any, bool) {
	if delim == "" {
		delim = DefaultDelimiter
	}
	return traverse(data, strings.Split(path, delim))
}

func traverse(data any, parts []string) (any, bool) {
	ptr := data
	for _, part := range parts {
		if l, ok := asList(ptr); ok {
			idx, err := strconv.Atoi(part)
			if err != nil {
				found := false
				for _, e := range l {
					if m, ok := asMap(e); ok {
						if v, ok := m[part]; ok {
							ptr, found = v, true
							break
						}
					}
				}
				if !found {
					return nil, false
				}
				continue
			}
			if idx < 0 {
				idx += len(l)
			}
			if idx < 0 || idx >= len(l) {
				return nil, false
			}
			ptr = l[idx]
			continue
		}
		m, ok := asMap(ptr)
		if !ok {
			return nil, false
		}
		v, ok := m[part]
		if !ok {
			return nil, false
		}
		ptr = v
	}
	return ptr, true
}

// asList views v as a list: []any directly, other slices by reflection
// (grains built in Go may hold []string).
func asList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	case nil, string, map[string]any:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	if rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, false // []byte is a string, not a list
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// asMap views v as a map with string keys.
func asMap(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case nil, string, []any:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	out := make(map[string]any, rv.Len())
	it := rv.MapRange()
	for it.Next() {
		out[it.Key().String()] = it.Value().Interface()
	}
	return out, true
}

// PyStr renders a scalar the way Python's str() does, since Salt compares
// grain values as str(value).lower(): True/False/None, integral floats
// without ".0" when they came from JSON as integers.
func PyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return PyStr(float64(x))
	}
	return fmt.Sprint(v)
}

type matchMode int

const (
	modeGlob matchMode = iota
	modeRegex
	modeExact
)

// dataMatch is the grain/pillar matcher: Salt's subdict_match on the minion's
// grains or pillar, comparing case-insensitively.
type dataMatch struct {
	grains bool
	expr   string
	mode   matchMode
	pats   *patCache
}

// patCache holds compiled value patterns; the set is bounded by the
// expression's own splits.
type patCache struct {
	mode matchMode
	mu   sync.Mutex // guards m
	m    map[string]*regexp.Regexp
}

func (c *patCache) get(pat string) (*regexp.Regexp, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if re, ok := c.m[pat]; ok {
		return re, nil
	}
	var re *regexp.Regexp
	var err error
	if c.mode == modeRegex {
		re, err = compileRegex(pat, true)
	} else {
		re, err = compileGlob(pat, true)
	}
	if err != nil {
		return nil, err
	}
	c.m[pat] = re
	return re, nil
}

func compileData(expr string, grains bool, mode matchMode, typ string) (node, error) {
	splits := strings.Split(expr, DefaultDelimiter)
	if len(splits) < 2 || splits[0] == "" {
		return nil, fmt.Errorf("%w: %s %q: want key:value (nested keys as a:b:value)", ErrSyntax, typ, expr)
	}
	d := &dataMatch{grains: grains, expr: expr, mode: mode, pats: &patCache{mode: mode, m: map[string]*regexp.Regexp{}}}
	if mode == modeExact {
		return d, nil
	}
	// Every split point is a candidate (a value may itself hold ':'); the
	// expression is bad only if no candidate value pattern compiles.
	var firstErr error
	ok := false
	for idx := len(splits) - 1; idx > 0; idx-- {
		_, err := d.pats.get(strings.Join(splits[idx:], DefaultDelimiter))
		if err == nil {
			ok = true
		} else if firstErr == nil {
			firstErr = err
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s %q: %w", ErrSyntax, typ, expr, firstErr)
	}
	return d, nil
}

func (d *dataMatch) match(mn *Minion) bool {
	data := mn.Pillar
	if d.grains {
		data = mn.Grains
	}
	if data == nil {
		return false
	}
	return d.subdict(data, d.expr)
}

// subdict mirrors salt.utils.data.subdict_match: the deepest key split is
// tried first, so "foo:bar:baz" matches data[foo][bar]=="baz" before
// data[foo]=="bar:baz".
func (d *dataMatch) subdict(data map[string]any, expr string) bool {
	splits := strings.Split(expr, DefaultDelimiter)
	if len(splits) == 1 {
		return false
	}
	for idx := len(splits) - 1; idx > 0; idx-- {
		key := strings.Join(splits[:idx], DefaultDelimiter)
		var matchstr string
		var val any
		if key == "*" {
			matchstr, val = expr, data
		} else {
			matchstr = strings.Join(splits[idx:], DefaultDelimiter)
			v, ok := traverse(data, splits[:idx])
			if !ok {
				continue
			}
			val = v
		}
		if m, ok := asMap(val); ok {
			if len(m) > 0 && d.dictMatch(m, matchstr) {
				return true
			}
			continue
		}
		if l, ok := asList(val); ok {
			for _, member := range l {
				if m, ok := asMap(member); ok && d.dictMatch(m, matchstr) {
					return true
				}
				if d.value(member, matchstr) {
					return true
				}
			}
			continue
		}
		if d.value(val, matchstr) {
			return true
		}
	}
	return false
}

func (d *dataMatch) dictMatch(target map[string]any, pattern string) bool {
	wildcard := strings.HasPrefix(pattern, "*:")
	if wildcard {
		pattern = pattern[2:]
	}
	if pattern == "*" {
		return true
	}
	if _, ok := target[pattern]; ok {
		return true
	}
	if d.subdict(target, pattern) {
		return true
	}
	if !wildcard {
		return false
	}
	for _, v := range target {
		if m, ok := asMap(v); ok {
			if d.dictMatch(m, pattern) {
				return true
			}
		} else if l, ok := asList(v); ok {
			for _, item := range l {
				if d.value(item, pattern) {
					return true
				}
			}
		} else if d.value(v, pattern) {
			return true
		}
	}
	return false
}

func (d *dataMatch) value(target any, pattern string) bool {
	s := PyStr(target)
	if d.mode == modeExact {
		return strings.EqualFold(s, pattern)
	}
	re, err := d.pats.get(pattern)
	if err != nil {
		return false // Salt logs and treats a bad pattern as no match
	}
	return re.MatchString(s)
}
