package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// cmdEvents streams the master's events until interrupted: one JSON object
// per line (JSON lines) when piped, "time tag data" lines on a terminal.
func cmdEvents(ctx context.Context, a *app, args []string) error {
	fs := a.flagSet("events")
	var tag string
	fs.StringVar(&tag, "tag", "", "tag glob, e.g. 'brine/job/*/ret/*' (default: every event)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("events takes no arguments (use --tag GLOB)")
	}
	if err := a.connect(outTable); err != nil {
		return err
	}
	evs, err := a.client.Events(ctx, tag)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	for ev := range evs {
		if a.out == outTable {
			fmt.Fprintf(a.stdout, "%s %s %s\n", ev.Time.Local().Format(time.TimeOnly), a.color(cCyan, ev.Tag), ev.Data)
			continue
		}
		if err := enc.Encode(ev); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil // interrupted: the normal way to stop
	}
	return errors.New("the event stream ended (master restarted or the connection dropped)")
}
