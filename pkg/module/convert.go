package module

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseValue turns a CLI string into a typed value the way Salt's CLI does:
// YAML scalars, lists and maps ("5", "true", "[a, b]", "{a: 1}"); anything
// that does not parse stays a string.
func ParseValue(s string) any {
	t := strings.TrimSpace(s)
	if t == "" {
		return s
	}
	// Salt's YAML loader reads "0644" as the decimal 644, not octal 420, so
	// that modes typed on the command line mean what they look like.
	if n, ok := leadingZeroInt(t); ok {
		return n
	}
	var v any
	if err := yaml.Unmarshal([]byte(t), &v); err != nil {
		return s
	}
	switch v := v.(type) {
	case int:
		return int64(v)
	case nil:
		return s
	case map[string]any, []any, bool, float64:
		return v
	default:
		return s
	}
}

func leadingZeroInt(t string) (int64, bool) {
	if len(t) < 2 || t[0] != '0' || strings.Trim(t, "0123456789") != "" {
		return 0, false
	}
	digits := strings.TrimLeft(t, "0")
	if digits == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil
}

func convert(v any, k Kind) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case Any:
		return v, nil
	case String:
		switch x := v.(type) {
		case string:
			return x, nil
		case int, int64, float64, bool, json.Number:
			return fmt.Sprint(x), nil
		}
	case Int:
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case int64:
			return x, nil
		case float64:
			if x == math.Trunc(x) {
				return int64(x), nil
			}
		case json.Number:
			return x.Int64()
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err == nil {
				return n, nil
			}
		}
	case Float:
		switch x := v.(type) {
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		case json.Number:
			return x.Float64()
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err == nil {
				return f, nil
			}
		}
	case Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "yes", "1", "on":
				return true, nil
			case "false", "no", "0", "off", "":
				return false, nil
			}
		case int64:
			return x != 0, nil
		case float64:
			return x != 0, nil
		}
	case List:
		switch x := v.(type) {
		case []any:
			return x, nil
		case []string:
			out := make([]any, len(x))
			for i, s := range x {
				out[i] = s
			}
			return out, nil
		case string:
			// Salt accepts "a,b,c" for list arguments.
			var out []any
			for _, p := range strings.Split(x, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
			return out, nil
		}
	case Map:
		switch x := v.(type) {
		case map[string]any:
			return x, nil
		case string:
			var m map[string]any
			if err := yaml.Unmarshal([]byte(x), &m); err == nil && m != nil {
				return m, nil
			}
		}
	}
	return nil, fmt.Errorf("want %s, got %T (%v)", k, v, v)
}
