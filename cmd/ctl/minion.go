package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/output"
)

func cmdMinion(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("minion needs a subcommand: list, show ID")
	}
	sub := args[0]
	fs := a.flagSet("minion " + sub)
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case sub == "list" && len(pos) == 0:
	case sub == "show" && len(pos) == 1:
	case sub == "list" || sub == "show":
		return usagef("usage: minion list | minion show ID")
	default:
		return usagef("minion %q: want list or show", sub)
	}
	if err := a.connect(outTable); err != nil {
		return err
	}
	if sub == "show" {
		m, err := a.client.Minion(ctx, pos[0])
		if err != nil {
			return err
		}
		return a.printData(m, func() error {
			state := a.color(cRed, "disconnected")
			if m.Connected {
				state = a.color(cGreen, "connected")
			}
			fmt.Fprintf(a.stdout, "%s: %s, key %s, last seen %s\n", m.ID, state, m.KeyState, ago(m.LastSeen))
			fmt.Fprintln(a.stdout, "grains:")
			fmt.Fprint(a.stdout, output.Indent(output.Value(m.Grains), "    "))
			return nil
		})
	}
	ms, err := a.client.Minions(ctx)
	if err != nil {
		return err
	}
	return a.printData(types.MinionList{Minions: ms}, func() error {
		rows := make([][]string, 0, len(ms))
		for _, m := range ms {
			conn := "no"
			if m.Connected {
				conn = "yes"
			}
			rows = append(rows, []string{m.ID, conn, m.KeyState, ago(m.LastSeen), osOf(m.Grains)})
		}
		return a.table([]string{"ID", "CONNECTED", "KEY", "LAST SEEN", "OS"}, rows)
	})
}

func osOf(g map[string]any) string {
	var parts []string
	for _, k := range []string{"os", "osrelease"} {
		if v, ok := g[k]; ok && v != nil {
			parts = append(parts, fmt.Sprint(v))
		}
	}
	return strings.Join(parts, " ")
}

// ago renders a time as a short age ("12s ago"), or "never".
func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}
