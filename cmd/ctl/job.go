package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/brine-project/brine/pkg/api/types"
)

func cmdJob(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("job needs a subcommand: list, show JID, wait JID")
	}
	switch args[0] {
	case "list":
		return jobList(ctx, a, args[1:])
	case "show", "wait":
		return jobShowWait(ctx, a, args[0], args[1:])
	}
	return usagef("job %q: want list, show or wait", args[0])
}

func jobList(ctx context.Context, a *app, args []string) error {
	fs := a.flagSet("job list")
	var f types.JobFilter
	var since, until, success string
	fs.StringVar(&f.Fun, "fun", "", "only jobs of this function")
	fs.StringVar(&f.Minion, "minion", "", "only jobs that targeted this minion")
	fs.StringVar(&f.User, "user", "", "only jobs submitted by this token name")
	fs.StringVar(&since, "since", "", "created at or after (RFC 3339, date, or duration back like 2h)")
	fs.StringVar(&until, "until", "", "created before (same forms)")
	fs.StringVar(&success, "success", "", "true: only fully successful jobs; false: only the others")
	fs.IntVar(&f.Limit, "limit", 0, "page size (server default 100)")
	fs.StringVar(&f.Cursor, "cursor", "", "cursor of the next page, as printed by the previous one")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("job list takes no arguments, got %q", pos)
	}
	now := time.Now()
	if f.Since, err = types.ParseTime(since, now); err != nil {
		return usagef("--since: %v", err)
	}
	if f.Until, err = types.ParseTime(until, now); err != nil {
		return usagef("--until: %v", err)
	}
	if success != "" {
		b, err := strconv.ParseBool(success)
		if err != nil {
			return usagef("--success: want true or false")
		}
		f.Success = &b
	}
	if f.Limit < 0 || f.Limit > types.MaxJobLimit {
		return usagef("--limit: want 1 to %d", types.MaxJobLimit)
	}
	if err := a.connect(outTable); err != nil {
		return err
	}
	list, err := a.client.Jobs(ctx, f)
	if err != nil {
		return err
	}
	return a.printData(list, func() error {
		rows := make([][]string, 0, len(list.Jobs))
		for _, j := range list.Jobs {
			result := fmt.Sprintf("%d/%d ok", j.Succeeded, j.Expected)
			if j.NoReturn > 0 {
				result += fmt.Sprintf(", %d no return", j.NoReturn)
			}
			rows = append(rows, []string{j.JID, j.Fun, j.Tgt, j.User, j.Created.Local().Format("2006-01-02 15:04:05"), string(j.Status), result})
		}
		if err := a.table([]string{"JID", "FUNCTION", "TARGET", "USER", "CREATED", "STATUS", "RESULT"}, rows); err != nil {
			return err
		}
		if list.Next != "" {
			fmt.Fprintf(a.stderr, "more: brinectl job list --cursor %s\n", list.Next)
		}
		return nil
	})
}

// jobShowWait prints a job (show: as it stands; wait: once complete, with
// run's exit status).
func jobShowWait(ctx context.Context, a *app, sub string, args []string) error {
	fs := a.flagSet("job " + sub)
	var timeout float64
	if sub == "wait" {
		fs.Float64Var(&timeout, "timeout", 0, "give up waiting after this many seconds (prints the job as it stands, exit 1)")
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("job %s needs exactly one JID", sub)
	}
	if err := a.connect(outTable); err != nil {
		return err
	}
	if sub == "wait" {
		return a.waitAndPrint(ctx, pos[0], time.Duration(timeout*float64(time.Second)))
	}
	j, err := a.client.Job(ctx, pos[0])
	if err != nil {
		return err
	}
	if a.out == outTable && a.tty {
		fmt.Fprintf(a.stderr, "jid %s: %s on %s (%s) by %s at %s, %s\n", j.JID, j.Fun, j.Tgt, j.TgtType, j.User,
			j.Created.Local().Format(time.DateTime), j.Status)
	}
	return a.printJob(j)
}
