package state

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// OutputOptions control FormatHighstate.
type OutputOptions struct {
	Color bool
	// OnlyChanges hides states that succeeded without changes (Salt's
	// state_verbose=False); the summary still counts them.
	OnlyChanges bool
}

// Summary counts a state run's results.
type Summary struct {
	Succeeded, Changed, Failed, Total int
	Duration                          float64 // ms
}

// Summarize counts results (test-mode None counts as succeeded).
func Summarize(r Results) Summary {
	var s Summary
	for _, x := range r {
		s.Total++
		s.Duration += x.Duration
		if x.Result == False {
			s.Failed++
			continue
		}
		s.Succeeded++
		if len(x.Changes) > 0 {
			s.Changed++
		}
	}
	return s
}

// DecodeResults reads a state run's return as it arrives over JSON (a map
// of tags to result fields). ok is false when ret is not a state run's
// result (a list of compile errors, an error string).
func DecodeResults(ret any) (Results, bool) {
	switch x := ret.(type) {
	case Results:
		return x, true
	case map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, false
		}
		var r Results
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, false
		}
		for tag := range r {
			if strings.Count(tag, "_|-") != 3 {
				return nil, false
			}
		}
		return r, true
	}
	return nil, false
}

const (
	cRed, cGreen, cYellow, cCyan, cReset = "\x1b[0;31m", "\x1b[0;32m", "\x1b[0;33m", "\x1b[0;36m", "\x1b[0m"
)

// FormatHighstate writes a minion's state run the way Salt's highstate
// outputter does: one block per state (failures first, then run order),
// then a summary. ret is Results, its JSON-decoded form, or anything else
// (compile errors), which is printed as a list.
func FormatHighstate(w io.Writer, minion string, ret any, o OutputOptions) {
	paint := func(c, s string) string {
		if !o.Color {
			return s
		}
		return c + s + cReset
	}
	r, ok := DecodeResults(ret)
	fmt.Fprintf(w, "%s:\n", paint(cCyan, minion))
	if !ok {
		fmt.Fprintln(w, paint(cRed, "    Data failed to compile:"))
		var lines []string
		switch x := ret.(type) {
		case []any:
			for _, l := range x {
				lines = append(lines, fmt.Sprint(l))
			}
		case []string:
			lines = x
		default:
			lines = []string{fmt.Sprint(ret)}
		}
		for _, l := range lines {
			fmt.Fprintf(w, "----------\n    %s\n", paint(cRed, l))
		}
		return
	}
	tags := r.Tags()
	sort.SliceStable(tags, func(i, j int) bool {
		return r[tags[i]].Result == False && r[tags[j]].Result != False
	})
	for _, tag := range tags {
		x := r[tag]
		if o.OnlyChanges && x.Result == True && len(x.Changes) == 0 {
			continue
		}
		color := cGreen
		switch {
		case x.Result == False:
			color = cRed
		case x.Result == None:
			color = cYellow
		case len(x.Changes) > 0:
			color = cCyan
		}
		parts := strings.SplitN(tag, "_|-", 4)
		fun := parts[0] + "." + parts[len(parts)-1]
		fmt.Fprintln(w, paint(color, "----------"))
		for _, kv := range [][2]string{
			{"ID", x.ID}, {"Function", fun}, {"Name", x.Name}, {"Result", x.Result.String()},
			{"Comment", indentLines(x.Comment, 14)}, {"Started", x.StartTime},
			{"Duration", fmt.Sprintf("%.3f ms", x.Duration)},
		} {
			fmt.Fprintf(w, "%s\n", paint(color, fmt.Sprintf("%12s: %s", kv[0], kv[1])))
		}
		fmt.Fprintf(w, "%s\n", paint(color, fmt.Sprintf("%12s:", "Changes")))
		if len(x.Changes) > 0 {
			writeNested(w, x.Changes, 14, func(s string) string { return paint(cCyan, s) })
		}
	}
	s := Summarize(r)
	fmt.Fprintf(w, "\nSummary for %s\n-------------\n", minion)
	fmt.Fprintln(w, paint(cGreen, fmt.Sprintf("Succeeded: %d", s.Succeeded))+paint(cCyan, fmt.Sprintf(" (changed=%d)", s.Changed)))
	failColor := cGreen
	if s.Failed > 0 {
		failColor = cRed
	}
	fmt.Fprintln(w, paint(failColor, fmt.Sprintf("Failed:    %d", s.Failed)))
	fmt.Fprintf(w, "-------------\nTotal states run: %6d\nTotal run time: %8.3f ms\n", s.Total, s.Duration)
}

func indentLines(s string, n int) string {
	return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", n))
}

// writeNested prints changes as Salt's nested outputter does.
func writeNested(w io.Writer, v any, indent int, paint func(string) string) {
	pad := strings.Repeat(" ", indent)
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintln(w, paint(pad+"----------"))
		for _, k := range keys {
			switch val := x[k].(type) {
			case map[string]any, []any:
				fmt.Fprintln(w, paint(pad+k+":"))
				writeNested(w, val, indent+4, paint)
			default:
				s := fmt.Sprint(val)
				if val == nil {
					s = "None"
				}
				if strings.Contains(s, "\n") {
					fmt.Fprintln(w, paint(pad+k+":"))
					for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
						fmt.Fprintln(w, paint(pad+"    "+l))
					}
					continue
				}
				fmt.Fprintln(w, paint(pad+k+":"))
				fmt.Fprintln(w, paint(pad+"    "+s))
			}
		}
	case []any:
		for _, e := range x {
			fmt.Fprintln(w, paint(pad+"- "+fmt.Sprint(e)))
		}
	default:
		fmt.Fprintln(w, paint(pad+fmt.Sprint(v)))
	}
}
