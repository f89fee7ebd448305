package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/brine-project/brine/pkg/api/types"
	"gopkg.in/yaml.v3"
)

// ANSI colors, used only when colorOn.
const (
	cReset  = "\x1b[0m"
	cRed    = "\x1b[31m"
	cGreen  = "\x1b[32m"
	cYellow = "\x1b[33m"
	cCyan   = "\x1b[36m"
	cBold   = "\x1b[1m"
)

func (a *app) color(c, s string) string {
	if !a.colorOn() {
		return s
	}
	return c + s + cReset
}

func writeJSONDoc(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// writeYAMLDoc writes v as YAML with JSON's field names (it goes through
// JSON so that struct tags and json.RawMessage are honored).
func writeYAMLDoc(w io.Writer, v any) error {
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

// jobDoc is the one JSON document run, job show and job wait print.
type jobDoc struct {
	JID      string                `json:"jid"`
	Fun      string                `json:"fun"`
	Status   types.JobStatus       `json:"status"`
	Expected []string              `json:"expected"`
	Returns  map[string]docReturn  `json:"returns"`
	NoReturn []types.NoReturnEntry `json:"no_return"`
}

type docReturn struct {
	Return  any  `json:"return"`
	Retcode int  `json:"retcode"`
	Success bool `json:"success"`
}

func newJobDoc(j *types.JobDetail) jobDoc {
	d := jobDoc{JID: j.JID, Fun: j.Fun, Status: j.Status, Expected: j.Expected,
		Returns: map[string]docReturn{}, NoReturn: j.NoReturn}
	if d.Expected == nil {
		d.Expected = []string{}
	}
	if d.NoReturn == nil {
		d.NoReturn = []types.NoReturnEntry{}
	}
	for m, r := range j.Returns {
		d.Returns[m] = docReturn{Return: r.Return, Retcode: r.Retcode, Success: r.Success}
	}
	return d
}

// printJob prints a job's returns in the chosen format.
func (a *app) printJob(j *types.JobDetail) error {
	switch a.out {
	case outJSON:
		return writeJSONDoc(a.stdout, newJobDoc(j))
	case outYAML:
		return writeYAMLDoc(a.stdout, newJobDoc(j))
	case outRaw:
		return a.printRaw(j)
	case outHighstate:
		if strings.HasPrefix(j.Fun, "state.") {
			return a.printHighstate(j)
		}
	}
	return a.printTree(j)
}

// printRaw prints one compact JSON object per line: every return, then
// every minion that did not return.
func (a *app) printRaw(j *types.JobDetail) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	for _, m := range sortedKeys(j.Returns) {
		r := j.Returns[m]
		if err := enc.Encode(map[string]any{"minion": m, "return": r.Return, "retcode": r.Retcode, "success": r.Success}); err != nil {
			return err
		}
	}
	for _, nr := range j.NoReturn {
		if err := enc.Encode(map[string]any{"minion": nr.Minion, "no_return": nr.Reason}); err != nil {
			return err
		}
	}
	return nil
}

// printTree prints each minion's return as a readable tree, as Salt's
// nested outputter does, then the minions that did not return.
func (a *app) printTree(j *types.JobDetail) error {
	var b strings.Builder
	for _, m := range sortedKeys(j.Returns) {
		r := j.Returns[m]
		name := a.color(cGreen, m+":")
		if !r.Success {
			name = a.color(cRed, m+":")
		}
		b.WriteString(name + "\n")
		b.WriteString(indent(renderValue(r.Return), "    "))
		if !r.Success {
			fmt.Fprintf(&b, "    %s\n", a.color(cRed, fmt.Sprintf("(retcode %d)", r.Retcode)))
		}
	}
	for _, nr := range j.NoReturn {
		fmt.Fprintf(&b, "%s\n    %s\n", a.color(cRed, nr.Minion+":"), a.color(cYellow, "Minion did not return. ["+noReturnText(nr.Reason)+"]"))
	}
	if _, err := io.WriteString(a.stdout, b.String()); err != nil {
		return err
	}
	a.summary(j)
	return nil
}

func noReturnText(reason string) string {
	switch reason {
	case types.NoReturnNotConnected:
		return "Not connected"
	case types.NoReturnNoResponse:
		return "No response"
	}
	return reason
}

// summary tells a terminal user the outcome in one line on stderr.
func (a *app) summary(j *types.JobDetail) {
	if !a.tty {
		return
	}
	failed := 0
	for _, r := range j.Returns {
		if !r.Success {
			failed++
		}
	}
	fmt.Fprintf(a.stderr, "jid %s: %d expected, %d succeeded, %d failed, %d no return\n",
		j.JID, len(j.Expected), len(j.Returns)-failed, failed, len(j.NoReturn))
}

// renderValue renders a return value: strings as they are (command output
// stays readable), other values as YAML.
func renderValue(v any) string {
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
	if err := writeYAMLDoc(&buf, v); err != nil {
		return fmt.Sprintf("%v\n", v)
	}
	return buf.String()
}

func indent(s, prefix string) string {
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// table prints rows aligned in columns, the header in bold on a terminal.
func (a *app) table(header []string, rows [][]string) error {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	line := func(cells []string, bold bool) {
		var l strings.Builder
		for i, c := range cells {
			if i == len(cells)-1 {
				l.WriteString(c)
			} else {
				fmt.Fprintf(&l, "%-*s  ", widths[i], c)
			}
		}
		s := strings.TrimRight(l.String(), " ")
		if bold {
			s = a.color(cBold, s)
		}
		b.WriteString(s + "\n")
	}
	line(header, true)
	for _, r := range rows {
		line(r, false)
	}
	_, err := io.WriteString(a.stdout, b.String())
	return err
}

// printData prints a non-job answer: JSON or YAML as asked, else calls
// human (the table or tree form).
func (a *app) printData(v any, human func() error) error {
	switch a.out {
	case outJSON:
		return writeJSONDoc(a.stdout, v)
	case outYAML:
		return writeYAMLDoc(a.stdout, v)
	case outRaw:
		enc := json.NewEncoder(a.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	return human()
}
