// Package output formats job returns for people: values as YAML (strings
// as they are), and state runs the way Salt's highstate outputter shows them,
// failures first. brinectl and brine-minion --local share it.
package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// ANSI colors, painted only when a Style has Color set.
const (
	Reset  = "\x1b[0m"
	Red    = "\x1b[31m"
	Green  = "\x1b[32m"
	Yellow = "\x1b[33m"
	Cyan   = "\x1b[36m"
	Bold   = "\x1b[1m"
)

// Style says whether output is painted (a terminal) or plain.
type Style struct{ Color bool }

// Paint wraps s in color c when the style is colored.
func (st Style) Paint(c, s string) string {
	if !st.Color {
		return s
	}
	return c + s + Reset
}

// YAML writes v as YAML with JSON's field names (it goes through
// JSON so that struct tags and json.RawMessage are honored).
func YAML(w io.Writer, v any) error {
	g, err := toGeneric(v)
	if err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(g); err != nil {
		return fmt.Errorf("write yaml: %w", err)
	}
	return enc.Close()
}

func toGeneric(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	var g any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return numbersToGo(g), nil
}

// numbersToGo turns json.Number into int64 or float64 so YAML prints them
// as numbers, not strings.
func numbersToGo(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, e := range t {
			t[k] = numbersToGo(e)
		}
	case []any:
		for i, e := range t {
			t[i] = numbersToGo(e)
		}
	}
	return v
}

// Value renders a return value: strings as they are (command output
// stays readable), other values as YAML.
func Value(v any) string {
	switch t := v.(type) {
	case nil:
		return "None\n"
	case string:
		if t == "" {
			return "\n"
		}
		return strings.TrimSuffix(t, "\n") + "\n"
	case bool:
		if t {
			return "True\n"
		}
		return "False\n"
	}
	var buf bytes.Buffer
	if err := YAML(&buf, v); err != nil {
		return fmt.Sprintf("%v\n", v)
	}
	return buf.String()
}

// Indent prefixes every non-empty line of s.
func Indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l == "" {
			continue
		}
		if l == "\n" {
			b.WriteString(l)
			continue
		}
		b.WriteString(prefix + l)
	}
	return b.String()
}

// stateResult is one entry of a state run's return
// ("file_|-motd_|-/etc/motd_|-managed": {...}).
type stateResult struct {
	key      string
	id       string
	fun      string
	name     string
	result   *bool // nil: would change (test=True)
	comment  string
	changes  any
	duration float64 // milliseconds, as Salt reports
	runNum   int
}

func (s stateResult) failed() bool  { return s.result != nil && !*s.result }
func (s stateResult) changed() bool { return !isEmpty(s.changes) }

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	case string:
		return t == ""
	}
	return false
}

// parseStates reads a state function's return; ok is false when it is not
// a map of state results (a render error returns a list of messages).
func parseStates(ret any) (out []stateResult, ok bool) {
	m, isMap := ret.(map[string]any)
	if !isMap {
		return nil, false
	}
	for k, v := range m {
		e, isMap := v.(map[string]any)
		if !isMap {
			return nil, false
		}
		s := stateResult{key: k, changes: e["changes"]}
		parts := strings.Split(k, "_|-")
		if len(parts) == 4 {
			s.id, s.name, s.fun = parts[1], parts[2], parts[0]+"."+parts[3]
		}
		if id, ok := e["__id__"].(string); ok {
			s.id = id
		}
		if n, ok := e["name"].(string); ok {
			s.name = n
		}
		if r, ok := e["result"].(bool); ok {
			s.result = &r
		}
		s.comment, _ = e["comment"].(string)
		s.duration, _ = e["duration"].(float64)
		if n, ok := e["__run_num__"].(float64); ok {
			s.runNum = int(n)
		}
		out = append(out, s)
	}
	// Failures first, then changes, then the rest, each in run order.
	rank := func(s stateResult) int {
		switch {
		case s.failed():
			return 0
		case s.result == nil || s.changed():
			return 1
		}
		return 2
	}
	slices.SortFunc(out, func(x, y stateResult) int {
		if d := rank(x) - rank(y); d != 0 {
			return d
		}
		return x.runNum - y.runNum
	})
	return out, true
}

// Highstate writes one minion's state run like Salt's highstate outputter:
// failed and changed states in full, clean ones on one line, then the
// summary. A return that is not a state run (a render error) is shown as is.
func (st Style) Highstate(b *strings.Builder, minion string, ret any, success bool, retcode int) {
	head := st.Paint(Green, minion+":")
	if !success {
		head = st.Paint(Red, minion+":")
	}
	b.WriteString(head + "\n")
	states, ok := parseStates(ret)
	if !ok {
		// Render errors and the like: a list of messages, or a string.
		b.WriteString(st.Paint(Red, Indent(Value(ret), "    ")))
		fmt.Fprintf(b, "    %s\n", st.Paint(Red, fmt.Sprintf("(retcode %d)", retcode)))
		return
	}
	var succeeded, changed, failed int
	var total float64
	for _, s := range states {
		total += s.duration
		c := Green
		switch {
		case s.failed():
			failed++
			c = Red
		case s.result == nil:
			succeeded++
			c = Yellow
		case s.changed():
			succeeded++
			changed++
			c = Cyan
		default:
			succeeded++
		}
		if !s.failed() && s.result != nil && !s.changed() {
			fmt.Fprintf(b, "  %s\n", st.Paint(c, fmt.Sprintf("Name: %s - Function: %s - Result: Clean - Duration: %.3f ms", s.name, s.fun, s.duration)))
			continue
		}
		res := "None"
		if s.result != nil {
			res = map[bool]string{true: "True", false: "False"}[*s.result]
		}
		b.WriteString(st.Paint(c, "----------\n"))
		for _, kv := range [][2]string{{"ID", s.id}, {"Function", s.fun}, {"Name", s.name}, {"Result", res},
			{"Comment", s.comment}, {"Duration", fmt.Sprintf("%.3f ms", s.duration)}} {
			val := strings.ReplaceAll(kv[1], "\n", "\n              ")
			fmt.Fprintf(b, "%s\n", st.Paint(c, fmt.Sprintf("    %8s: %s", kv[0], val)))
		}
		if s.changed() {
			fmt.Fprintf(b, "%s\n", st.Paint(c, "     Changes:"))
			b.WriteString(st.Paint(c, Indent(Value(s.changes), "              ")))
		} else {
			fmt.Fprintf(b, "%s\n", st.Paint(c, "     Changes:"))
		}
	}
	fmt.Fprintf(b, "\nSummary for %s\n------------\n", minion)
	fmt.Fprintf(b, "%s\n", st.Paint(Green, fmt.Sprintf("Succeeded: %d", succeeded))+st.Paint(Cyan, fmt.Sprintf(" (changed=%d)", changed)))
	fc := Green
	if failed > 0 {
		fc = Red
	}
	fmt.Fprintf(b, "%s\n------------\n", st.Paint(fc, fmt.Sprintf("Failed:    %d", failed)))
	fmt.Fprintf(b, "Total states run: %5d\n", len(states))
	fmt.Fprintf(b, "Total run time: %9.3f s\n\n", total/1000)
}
