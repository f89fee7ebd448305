package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/output"
)

// ANSI colors, used only when colorOn (see pkg/output).
const (
	cRed    = output.Red
	cGreen  = output.Green
	cYellow = output.Yellow
	cCyan   = output.Cyan
	cBold   = output.Bold
)

func (a *app) color(c, s string) string { return output.Style{Color: a.colorOn()}.Paint(c, s) }

func writeJSONDoc(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
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
		return output.YAML(a.stdout, newJobDoc(j))
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
		b.WriteString(output.Indent(output.Value(r.Return), "    "))
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
		return output.YAML(a.stdout, v)
	case outRaw:
		enc := json.NewEncoder(a.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	return human()
}
