package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/brine-project/brine/pkg/api/types"
)

// cmdState submits state.apply, state.sls or state.highstate jobs:
//
//	state apply TARGET [sls,...] [test=True] [saltenv=ENV] [pillar='{...}']
//	state sls TARGET sls,... [...]
//	state highstate TARGET [...]
func cmdState(ctx context.Context, a *app, args []string) error {
	fs := a.flagSet("state")
	var jf jobFlags
	jf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(a.stderr, "usage: brinectl state apply|sls|highstate [target flags] TARGET [sls,...] [test=True] [saltenv=ENV] [pillar='{...}']")
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		fs.Usage()
		return usagef("state needs a subcommand (apply, sls, highstate) and TARGET")
	}
	sub, tgt, rest := pos[0], pos[1], pos[2:]
	var fun string
	switch sub {
	case "apply", "sls", "highstate":
		fun = "state." + sub
	default:
		return usagef("state %q: want apply, sls or highstate", sub)
	}
	req, err := jf.request(tgt, fun)
	if err != nil {
		return err
	}
	arg, kwarg := splitArgs(rest)
	if p, ok := kwarg["pillar"]; ok {
		// pillar=... is the job's pillar override, like Salt's
		// state.apply pillar='{...}'; it travels in the request's pillar
		// field (merged over --pillar).
		m, ok := p.(map[string]any)
		if !ok {
			return usagef("pillar=: want a JSON object like pillar='{\"key\": \"value\"}'")
		}
		if req.Pillar == nil {
			req.Pillar = map[string]any{}
		}
		for k, v := range m {
			req.Pillar[k] = v
		}
		delete(kwarg, "pillar")
	}
	var mods []string
	for _, v := range arg {
		s, ok := v.(string)
		if !ok {
			return usagef("state %s: sls names must be strings, got %v", sub, v)
		}
		mods = append(mods, s)
	}
	switch {
	case sub == "sls" && len(mods) == 0:
		return usagef("state sls needs sls names: state sls TARGET web,db")
	case sub == "highstate" && len(mods) > 0:
		return usagef("state highstate takes no sls names (use state apply TARGET %s)", strings.Join(mods, ","))
	case len(mods) > 0:
		req.Arg = []any{strings.Join(mods, ",")}
	}
	req.Kwarg = kwarg
	if err := a.connect(outHighstate); err != nil {
		return err
	}
	return a.submit(ctx, req, jf.async)
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

// printHighstate prints state runs like Salt's highstate outputter: each
// failed or changed state in full, unchanged ones in one line, then the
// per-minion summary. Minions with failures come first.
func (a *app) printHighstate(j *types.JobDetail) error {
	minions := sortedKeys(j.Returns)
	slices.SortStableFunc(minions, func(x, y string) int {
		fx, fy := !j.Returns[x].Success, !j.Returns[y].Success
		switch {
		case fx && !fy:
			return -1
		case fy && !fx:
			return 1
		}
		return 0
	})
	var b strings.Builder
	for _, m := range minions {
		a.highstateMinion(&b, m, j.Returns[m])
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

func (a *app) highstateMinion(b *strings.Builder, minion string, r types.MinionReturn) {
	head := a.color(cGreen, minion+":")
	if !r.Success {
		head = a.color(cRed, minion+":")
	}
	b.WriteString(head + "\n")
	states, ok := parseStates(r.Return)
	if !ok {
		// Render errors and the like: a list of messages, or a string.
		b.WriteString(a.color(cRed, indent(renderValue(r.Return), "    ")))
		fmt.Fprintf(b, "    %s\n", a.color(cRed, fmt.Sprintf("(retcode %d)", r.Retcode)))
		return
	}
	var succeeded, changed, failed int
	var total float64
	for _, s := range states {
		total += s.duration
		c := cGreen
		switch {
		case s.failed():
			failed++
			c = cRed
		case s.result == nil:
			succeeded++
			c = cYellow
		case s.changed():
			succeeded++
			changed++
			c = cCyan
		default:
			succeeded++
		}
		if !s.failed() && s.result != nil && !s.changed() {
			fmt.Fprintf(b, "  %s\n", a.color(c, fmt.Sprintf("Name: %s - Function: %s - Result: Clean - Duration: %.3f ms", s.name, s.fun, s.duration)))
			continue
		}
		res := "None"
		if s.result != nil {
			res = map[bool]string{true: "True", false: "False"}[*s.result]
		}
		b.WriteString(a.color(c, "----------\n"))
		for _, kv := range [][2]string{{"ID", s.id}, {"Function", s.fun}, {"Name", s.name}, {"Result", res},
			{"Comment", s.comment}, {"Duration", fmt.Sprintf("%.3f ms", s.duration)}} {
			val := strings.ReplaceAll(kv[1], "\n", "\n              ")
			fmt.Fprintf(b, "%s\n", a.color(c, fmt.Sprintf("    %8s: %s", kv[0], val)))
		}
		if s.changed() {
			fmt.Fprintf(b, "%s\n", a.color(c, "     Changes:"))
			b.WriteString(a.color(c, indent(renderValue(s.changes), "              ")))
		} else {
			fmt.Fprintf(b, "%s\n", a.color(c, "     Changes:"))
		}
	}
	fmt.Fprintf(b, "\nSummary for %s\n------------\n", minion)
	fmt.Fprintf(b, "%s\n", a.color(cGreen, fmt.Sprintf("Succeeded: %d", succeeded))+a.color(cCyan, fmt.Sprintf(" (changed=%d)", changed)))
	fc := cGreen
	if failed > 0 {
		fc = cRed
	}
	fmt.Fprintf(b, "%s\n------------\n", a.color(fc, fmt.Sprintf("Failed:    %d", failed)))
	fmt.Fprintf(b, "Total states run: %5d\n", len(states))
	fmt.Fprintf(b, "Total run time: %9.3f s\n\n", total/1000)
}
