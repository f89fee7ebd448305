package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/output"
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
		r := j.Returns[m]
		output.Style{Color: a.colorOn()}.Highstate(&b, m, r.Return, r.Success, r.Retcode)
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
