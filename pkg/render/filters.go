package render

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	strftime "github.com/ncruces/go-strftime"
	"github.com/nikolalohinski/gonja/v2/exec"
	"gopkg.in/yaml.v3"
)

// filterFn adapts a plain Go function of the input and arguments to gonja.
func filterFn(f func(in any, args []any, kw map[string]any) (any, error)) exec.FilterFunction {
	return func(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		a, kw := toGoArgs(params)
		out, err := f(toGo(in, false), a, kw)
		if err != nil {
			return exec.AsValue(err)
		}
		return exec.AsValue(out)
	}
}

// arg returns positional argument i or keyword name, or def.
func arg(args []any, kw map[string]any, i int, name string, def any) any {
	if v, ok := kw[name]; ok {
		return v
	}
	if i < len(args) {
		return args[i]
	}
	return def
}

func saltFilters() map[string]exec.FilterFunction {
	hashFilter := func(h func() hash.Hash) exec.FilterFunction {
		return filterFn(func(in any, _ []any, _ map[string]any) (any, error) {
			sum := h()
			sum.Write([]byte(str(in)))
			return hex.EncodeToString(sum.Sum(nil)), nil
		})
	}
	jsonFilter := filterFn(func(in any, a []any, kw map[string]any) (any, error) {
		indent := int(toInt(arg(a, kw, 1, "indent", int64(-1))))
		return pyJSON(in, truthy(arg(a, kw, 0, "sort_keys", true)), indent), nil
	})
	return map[string]exec.FilterFunction{
		"json":   jsonFilter,
		"tojson": jsonFilter,
		"yaml": filterFn(func(in any, a []any, kw map[string]any) (any, error) {
			if !truthy(arg(a, kw, 0, "flow_style", true)) {
				b, err := yaml.Marshal(in)
				return strings.TrimSuffix(string(b), "\n"), err
			}
			return flowYAML(in), nil
		}),
		"yaml_encode": filterFn(func(in any, _ []any, _ map[string]any) (any, error) { return flowYAML(in), nil }),
		"yaml_dquote": filterFn(func(in any, _ []any, _ map[string]any) (any, error) { return pyJSON(str(in), false, -1), nil }),
		"yaml_squote": filterFn(func(in any, _ []any, _ map[string]any) (any, error) {
			return "'" + strings.ReplaceAll(str(in), "'", "''") + "'", nil
		}),
		"load_yaml": filterFn(func(in any, _ []any, _ map[string]any) (any, error) {
			v, err := decodeYAML([]byte(str(in)))
			if err != nil {
				return nil, fmt.Errorf("load_yaml: %w", err)
			}
			return Plain(v), nil
		}),
		"load_json": filterFn(func(in any, _ []any, _ map[string]any) (any, error) {
			v, err := decodeJSON([]byte(str(in)))
			if err != nil {
				return nil, fmt.Errorf("load_json: %w", err)
			}
			return Plain(v), nil
		}),
		"regex_match":   filterFn(func(in any, a []any, kw map[string]any) (any, error) { return regexFind(in, a, kw, true) }),
		"regex_search":  filterFn(func(in any, a []any, kw map[string]any) (any, error) { return regexFind(in, a, kw, false) }),
		"regex_replace": filterFn(regexReplace),
		"unique": filterFn(func(in any, _ []any, _ map[string]any) (any, error) {
			seen := map[string]bool{}
			var out []any
			for _, e := range seq(in) {
				k := fmt.Sprintf("%T:%v", e, e)
				if !seen[k] {
					seen[k] = true
					out = append(out, e)
				}
			}
			return orList(out), nil
		}),
		"sequence": filterFn(func(in any, _ []any, _ map[string]any) (any, error) { return seq(in), nil }),
		"is_list": filterFn(func(in any, _ []any, _ map[string]any) (any, error) {
			_, ok := in.([]any)
			return ok, nil
		}),
		"strftime":    filterFn(strftimeFilter),
		"date_format": filterFn(strftimeFilter),
		"traverse": filterFn(func(in any, a []any, kw map[string]any) (any, error) {
			v, ok := Traverse(in, str(arg(a, kw, 0, "key", "")), str(arg(a, kw, 2, "delimiter", ":")))
			if !ok {
				return arg(a, kw, 1, "default", nil), nil
			}
			return v, nil
		}),
		"to_bool": filterFn(func(in any, _ []any, _ map[string]any) (any, error) { return toBool(in), nil }),
		"to_num": filterFn(func(in any, _ []any, _ map[string]any) (any, error) {
			s := strings.TrimSpace(str(in))
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i, nil
			}
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return f, nil
			}
			return in, nil
		}),
		"base64_encode": filterFn(func(in any, _ []any, _ map[string]any) (any, error) {
			return base64.StdEncoding.EncodeToString([]byte(str(in))), nil
		}),
		"base64_decode": filterFn(func(in any, _ []any, _ map[string]any) (any, error) {
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(str(in)))
			if err != nil {
				return nil, fmt.Errorf("base64_decode: %w", err)
			}
			return string(b), nil
		}),
		"md5":    hashFilter(md5.New),
		"sha1":   hashFilter(sha1.New),
		"sha256": hashFilter(sha256.New),
		"sha512": hashFilter(sha512.New),
		"path_join": filterFn(func(in any, a []any, _ map[string]any) (any, error) {
			parts := []string{str(in)}
			for _, p := range a {
				parts = append(parts, str(p))
			}
			return path.Join(parts...), nil
		}),
		"difference":           filterFn(setOp(func(inA, inB bool) bool { return inA && !inB })),
		"intersect":            filterFn(setOp(func(inA, inB bool) bool { return inA && inB })),
		"union":                filterFn(setOp(func(inA, inB bool) bool { return inA || inB })),
		"symmetric_difference": filterFn(setOp(func(inA, inB bool) bool { return inA != inB })),
		"is_ip":                filterFn(func(in any, _ []any, _ map[string]any) (any, error) { return net.ParseIP(str(in)) != nil, nil }),
		"quote": filterFn(func(in any, _ []any, _ map[string]any) (any, error) {
			return "'" + strings.ReplaceAll(str(in), "'", `'"'"'`) + "'", nil
		}),
	}
}

func saltTests() map[string]exec.TestFunction {
	return map[string]exec.TestFunction{
		"list": func(_ *exec.Context, in *exec.Value, _ *exec.VarArgs) (bool, error) { return in.IsList(), nil },
		"match": func(_ *exec.Context, in *exec.Value, params *exec.VarArgs) (bool, error) {
			a, kw := testArgs(params)
			m, err := regexFind(toGo(in, false), a, kw, true)
			return m != nil, err
		},
		"search": func(_ *exec.Context, in *exec.Value, params *exec.VarArgs) (bool, error) {
			a, kw := testArgs(params)
			m, err := regexFind(toGo(in, false), a, kw, false)
			return m != nil, err
		},
		"equalto": func(_ *exec.Context, in *exec.Value, params *exec.VarArgs) (bool, error) {
			if len(params.Args) != 1 {
				return false, errors.New("equalto takes one argument")
			}
			return in.EqualValueTo(params.Args[0]), nil
		},
		"is_ip": func(_ *exec.Context, in *exec.Value, _ *exec.VarArgs) (bool, error) {
			return net.ParseIP(in.String()) != nil, nil
		},
	}
}

// testArgs spreads a test's arguments: gonja parses "is match('x', True)"
// as one tuple argument.
func testArgs(params *exec.VarArgs) ([]any, map[string]any) {
	a, kw := toGoArgs(params)
	if len(a) == 1 {
		if l, ok := a[0].([]any); ok {
			return l, kw
		}
	}
	return a, kw
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	}
	return fmt.Sprint(v)
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

func toBool(v any) bool {
	switch x := v.(type) {
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "yes", "1", "true", "on":
			return true
		}
		return false
	case int64:
		return x > 0
	case float64:
		return x > 0
	}
	return truthy(v)
}

func seq(v any) []any {
	switch x := v.(type) {
	case nil:
		return []any{}
	case []any:
		return x
	}
	return []any{v}
}

func orList(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

func setOp(keep func(inA, inB bool) bool) func(in any, a []any, _ map[string]any) (any, error) {
	return func(in any, a []any, _ map[string]any) (any, error) {
		if len(a) < 1 {
			return nil, errors.New("set filter needs a second list")
		}
		la, lb := seq(in), seq(a[0])
		key := func(e any) string { return fmt.Sprintf("%T:%v", e, e) }
		inA, inB := map[string]bool{}, map[string]bool{}
		for _, e := range la {
			inA[key(e)] = true
		}
		for _, e := range lb {
			inB[key(e)] = true
		}
		seen := map[string]bool{}
		var out []any
		for _, e := range append(append([]any{}, la...), lb...) {
			k := key(e)
			if !seen[k] && keep(inA[k], inB[k]) {
				seen[k] = true
				out = append(out, e)
			}
		}
		return orList(out), nil
	}
}

func compileRegex(a []any, kw map[string]any) (*regexp.Regexp, error) {
	pat := str(arg(a, kw, 0, "rgx", ""))
	flags := ""
	if truthy(arg(a, kw, 1, "ignorecase", false)) {
		flags += "i"
	}
	if truthy(arg(a, kw, 2, "multiline", false)) {
		flags += "m"
	}
	if flags != "" {
		pat = "(?" + flags + ")" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, fmt.Errorf("regex: %w", err)
	}
	return re, nil
}

// regexFind is Salt's regex_match (anchored at the start, like Python's
// re.match) and regex_search: the match groups, or None.
func regexFind(in any, a []any, kw map[string]any, anchored bool) (any, error) {
	re, err := compileRegex(a, kw)
	if err != nil {
		return nil, err
	}
	s := str(in)
	loc := re.FindStringSubmatchIndex(s)
	if loc == nil || anchored && loc[0] != 0 {
		if anchored && loc != nil {
			// A later match does not count for match(); try anchoring explicitly.
			are, err := regexp.Compile(`^(?:` + re.String() + `)`)
			if err != nil {
				return nil, err
			}
			loc = are.FindStringSubmatchIndex(s)
			if loc == nil {
				return nil, nil
			}
		} else {
			return nil, nil
		}
	}
	groups := []any{}
	for i := 2; i+1 < len(loc); i += 2 {
		if loc[i] < 0 {
			groups = append(groups, nil)
			continue
		}
		groups = append(groups, s[loc[i]:loc[i+1]])
	}
	return groups, nil
}

var pyBackref = regexp.MustCompile(`\\(\d+)|\\g<(\w+)>`)

func regexReplace(in any, a []any, kw map[string]any) (any, error) {
	if len(a) < 2 && kw["new"] == nil {
		return nil, errors.New("regex_replace needs a pattern and a replacement")
	}
	repl := str(arg(a, kw, 1, "new", ""))
	rest := map[string]any{"ignorecase": arg(a, kw, 2, "ignorecase", false), "multiline": arg(a, kw, 3, "multiline", false)}
	re, err := compileRegex([]any{arg(a, kw, 0, "rgx", "")}, rest)
	if err != nil {
		return nil, err
	}
	repl = strings.ReplaceAll(repl, "$", "$$")
	repl = pyBackref.ReplaceAllStringFunc(repl, func(m string) string {
		sub := pyBackref.FindStringSubmatch(m)
		if sub[1] != "" {
			return "${" + sub[1] + "}"
		}
		return "${" + sub[2] + "}"
	})
	return re.ReplaceAllString(str(in), repl), nil
}

func strftimeFilter(in any, a []any, kw map[string]any) (any, error) {
	format := str(arg(a, kw, 0, "format", "%Y-%m-%d"))
	var t time.Time
	switch x := in.(type) {
	case int64:
		t = time.Unix(x, 0).UTC()
	case float64:
		t = time.Unix(int64(x), 0).UTC()
	case nil:
		t = time.Now().UTC()
	default:
		s := strings.TrimSpace(str(in))
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			t = time.Unix(n, 0).UTC()
			break
		}
		var err error
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02", "Jan 2 2006", "January 2 2006", "2 January 2006"} {
			if t, err = time.Parse(layout, s); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("strftime: cannot parse date %q", s)
		}
	}
	return strftime.Format(format, t), nil
}
