package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/brine-project/brine/pkg/api/client"
)

// Exit statuses.
const (
	exitOK    = 0 // every expected minion returned success
	exitFail  = 1 // a minion failed or did not return
	exitUsage = 2 // usage or API error
)

// Defaults for the API address and the admin token file the master writes.
const (
	defaultAPI       = "http://127.0.0.1:8000"
	defaultTokenFile = "/var/lib/brine/master/admin.token" // the master's default data_dir
)

// Output formats.
const (
	outJSON      = "json"
	outYAML      = "yaml"
	outTable     = "table"
	outRaw       = "raw"
	outHighstate = "highstate"
)

var outFormats = []string{outJSON, outYAML, outTable, outRaw, outHighstate}

// app is one invocation of brinectl.
type app struct {
	stdout, stderr io.Writer
	env            func(string) string
	tty            bool // stdout is a terminal

	// Global options (flags valid before and after the command).
	api       string
	token     string
	tokenFile string
	out       string
	noColor   bool

	client *client.Client
}

// usageError is a mistake on the command line: exit status 2 and a hint.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// exitError carries an exit status for a command that printed its data but
// did not fully succeed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

func commands() []command {
	return []command{
		{"run", "run an execution function: run TARGET FUN [ARG...] [key=value...]", cmdRun},
		{"state", "apply states: state apply|sls|highstate TARGET [sls,...] [test=True] [saltenv=ENV] [pillar='{...}']", cmdState},
		{"job", "job history: job list|show JID|wait JID", cmdJob},
		{"minion", "minions the master knows: minion list|show ID", cmdMinion},
		{"key", "minion keys: key list|accept|reject|delete [ID|--all], key finger [ID]", cmdKey},
		{"events", "stream the master's events: events [--tag GLOB]", cmdEvents},
	}
}

func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer, tty bool) int {
	a := &app{stdout: stdout, stderr: stderr, env: env, tty: tty}
	top := a.flagSet("brinectl")
	top.Usage = func() { a.usage() }
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := top.Args()
	if len(rest) == 0 {
		a.usage()
		return exitUsage
	}
	name := rest[0]
	if name == "help" {
		a.usage()
		return exitOK
	}
	i := slices.IndexFunc(commands(), func(c command) bool { return c.name == name })
	if i < 0 {
		fmt.Fprintf(stderr, "brinectl: unknown command %q\n", name)
		a.usage()
		return exitUsage
	}
	err := commands()[i].run(ctx, a, rest[1:])
	return a.exitCode(err)
}

// exitCode prints err (if any) and maps it to an exit status.
func (a *app) exitCode(err error) int {
	var ue *usageError
	var ee *exitError
	var ce *client.Error
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "brinectl: %s\n", ue.msg)
		return exitUsage
	case errors.As(err, &ce):
		msg := ce.Message
		if ce.Field != "" && !strings.Contains(msg, ce.Field) {
			msg = ce.Field + ": " + msg
		}
		fmt.Fprintf(a.stderr, "brinectl: %s (HTTP %d)\n", msg, ce.Status)
		return exitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(a.stderr, "brinectl: interrupted")
		return exitUsage
	case errors.As(err, new(*net.OpError)):
		var oe *net.OpError
		errors.As(err, &oe)
		fmt.Fprintf(a.stderr, "brinectl: cannot reach the master API at %s (set --api or $BRINE_API): %v\n", a.api, oe.Err)
		return exitUsage
	default:
		fmt.Fprintf(a.stderr, "brinectl: %v\n", err)
		return exitUsage
	}
}

func (a *app) usage() {
	w := a.stderr
	fmt.Fprintln(w, "usage: brinectl [--api URL] [--token TOKEN|--token-file FILE] [--out json|yaml|table|raw] COMMAND ...")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-7s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nglobal flags (valid anywhere on the line):")
	fmt.Fprintln(w, "  --api URL         master API (default $BRINE_API, else "+defaultAPI+")")
	fmt.Fprintln(w, "  --token TOKEN     bearer token (default $BRINE_TOKEN)")
	fmt.Fprintln(w, "  --token-file F    file holding the token (default $BRINE_TOKEN_FILE, $BRINE_DATA_DIR/admin.token, "+defaultTokenFile+")")
	fmt.Fprintln(w, "  --out FORMAT      json, yaml, table, raw (highstate for state); default table on a terminal, json otherwise")
	fmt.Fprintln(w, "  --no-color        no colors (also when $NO_COLOR is set)")
	fmt.Fprintln(w, "\nexit status: 0 all minions succeeded, 1 a minion failed or did not return, 2 usage or API error")
}

// flagSet returns a FlagSet with the global flags registered, so they work
// before and after the command.
func (a *app) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	if a.api == "" {
		a.api = a.env("BRINE_API")
	}
	fs.StringVar(&a.api, "api", a.api, "master API URL (default $BRINE_API, else "+defaultAPI+")")
	fs.StringVar(&a.token, "token", a.token, "bearer token (default $BRINE_TOKEN)")
	fs.StringVar(&a.tokenFile, "token-file", a.tokenFile, "file holding the token (default $BRINE_TOKEN_FILE)")
	fs.StringVar(&a.out, "out", a.out, "output format: json, yaml, table, raw")
	fs.BoolVar(&a.noColor, "no-color", a.noColor, "no colors")
	return fs
}

// parseArgs parses flags placed anywhere among the positional arguments
// (Salt's "-E" may come before or after the target); "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// connect validates the global options and makes the API client.
func (a *app) connect(defaultOut string) error {
	if a.out == "" {
		a.out = defaultOut
		if !a.tty {
			a.out = outJSON
		}
	}
	if a.out == "nested" {
		a.out = outTable // Salt's name for the tree
	}
	if !slices.Contains(outFormats, a.out) {
		return usagef("--out %q: want one of %s", a.out, strings.Join(outFormats, ", "))
	}
	if a.api == "" {
		a.api = defaultAPI
	}
	if !strings.HasPrefix(a.api, "http://") && !strings.HasPrefix(a.api, "https://") {
		return usagef("--api %q: want an http:// or https:// URL", a.api)
	}
	tok, err := a.resolveToken()
	if err != nil {
		return err
	}
	a.client = client.New(a.api, tok, nil)
	a.client.UserAgent = "brinectl/1"
	return nil
}

// resolveToken finds the bearer token: --token, $BRINE_TOKEN, --token-file,
// $BRINE_TOKEN_FILE, then the admin token the master writes into its data
// dir ($BRINE_DATA_DIR/admin.token, /var/lib/brine/master/admin.token).
func (a *app) resolveToken() (string, error) {
	if a.token != "" {
		return a.token, nil
	}
	if t := a.env("BRINE_TOKEN"); t != "" {
		return t, nil
	}
	explicit := a.tokenFile
	if explicit == "" {
		explicit = a.env("BRINE_TOKEN_FILE")
	}
	if explicit != "" {
		return readToken(explicit)
	}
	var tried []string
	if d := a.env("BRINE_DATA_DIR"); d != "" {
		tried = append(tried, filepath.Join(d, "admin.token"))
	}
	tried = append(tried, defaultTokenFile)
	for _, p := range tried {
		tok, err := readToken(p)
		if err == nil {
			return tok, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	return "", usagef("no API token: pass --token or --token-file, set BRINE_TOKEN, or run on the master host (tried %s)", strings.Join(tried, ", "))
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", usagef("token file %s is empty", path)
	}
	return tok, nil
}

// colorOn reports whether to color output: a terminal, table-like output,
// and neither --no-color nor $NO_COLOR.
func (a *app) colorOn() bool {
	return a.tty && !a.noColor && a.env("NO_COLOR") == "" && (a.out == outTable || a.out == outHighstate)
}
