// Command brinectl is the thin command-line client of a Brine master's HTTP
// API: it runs jobs (brinectl run '*' test.ping), applies states, reads job
// history, lists minions, manages keys and streams events.
//
// Data goes to stdout (JSON when stdout is not a terminal, a readable tree
// or table on one), messages to stderr. Exit status: 0 when every expected
// minion returned success, 1 when any failed or did not return, 2 for usage
// or API errors.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mattn/go-isatty"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, isTerminal(os.Stdout))
	stop()
	os.Exit(code)
}

// isTerminal reports whether f is a terminal, which decides the default
// output format and colors. (A character-device check would take
// /dev/null for a terminal.)
func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd())
}
