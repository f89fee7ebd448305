package render

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// pyJSON writes v as Python's json.dumps does (what Salt's json filter
// produces): ", " and ": " separators, non-ASCII escaped, keys sorted when
// sortKeys, and with indent >= 0 one item per line.
func pyJSON(v any, sortKeys bool, indent int) string {
	var b strings.Builder
	writePyJSON(&b, v, sortKeys, indent, 0)
	return b.String()
}

func writePyJSON(b *strings.Builder, v any, sortKeys bool, indent, level int) {
	nl := func(l int) {
		if indent >= 0 {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat(" ", indent*l))
		}
	}
	sep := ", "
	if indent >= 0 {
		sep = ","
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(pyFloat(x))
	case string:
		quotePy(b, x)
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(sep)
			}
			nl(level + 1)
			writePyJSON(b, e, sortKeys, indent, level+1)
		}
		nl(level)
		b.WriteByte(']')
	case map[string]any, *Map:
		var keys []string
		var get func(string) any
		if m, ok := x.(*Map); ok {
			keys, get = append([]string{}, m.Keys...), func(k string) any { return m.Values[k] }
			if sortKeys {
				keys = sortedStrings(keys)
			}
		} else {
			m := x.(map[string]any)
			keys, get = sortedKeys(m), func(k string) any { return m[k] }
		}
		if len(keys) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(sep)
			}
			nl(level + 1)
			quotePy(b, k)
			b.WriteString(": ")
			writePyJSON(b, get(k), sortKeys, indent, level+1)
		}
		nl(level)
		b.WriteByte('}')
	default:
		quotePy(b, fmt.Sprint(x))
	}
}

func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	case f == math.Trunc(f) && math.Abs(f) < 1e16:
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func quotePy(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r > 0x7e:
			if r > 0xffff {
				r1, r2 := utf16Pair(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
			} else if r == utf8.RuneError {
				b.WriteString(`\ufffd`)
			} else {
				fmt.Fprintf(b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// flowYAML writes v on one line in YAML flow style, as Salt's yaml filter
// does by default: {a: 1, b: [x, y]} with sorted keys.
func flowYAML(v any) string {
	var b strings.Builder
	writeFlow(&b, v)
	return b.String()
}

func writeFlow(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(pyFloat(x))
	case string:
		b.WriteString(yamlScalar(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeFlow(b, e)
		}
		b.WriteByte(']')
	case *Map:
		writeFlow(b, Plain(x))
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(yamlScalar(k))
			b.WriteString(": ")
			writeFlow(b, x[k])
		}
		b.WriteByte('}')
	default:
		b.WriteString(yamlScalar(fmt.Sprint(x)))
	}
}

// yamlScalar quotes s only when plain style would change its meaning or
// break flow syntax.
func yamlScalar(s string) string {
	if s == "" {
		return "''"
	}
	plain := !strings.ContainsAny(s, ",[]{}#&*!|>'\"%@`\n\r\t") &&
		!strings.HasPrefix(s, " ") && !strings.HasSuffix(s, " ") &&
		!strings.HasPrefix(s, "- ") && !strings.HasPrefix(s, "? ") &&
		!strings.Contains(s, ": ") && !strings.HasSuffix(s, ":")
	if plain {
		// Would it read back as something other than this string?
		var back any
		if err := yaml.Unmarshal([]byte(s), &back); err == nil {
			if bs, ok := back.(string); ok && bs == s {
				return s
			}
		}
	}
	if !strings.ContainsAny(s, "\n\r\t\\'") && utf8.ValidString(s) {
		return "'" + s + "'"
	}
	return pyJSON(s, false, -1)
}
