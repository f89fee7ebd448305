package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/output"
	"gopkg.in/yaml.v3"
)

// targetFlags registers -t/--tgt-type and Salt's short target flags.
type targetFlags struct {
	tgtType string
	short   map[string]*bool
}

// saltShort maps Salt's short target flags to target types.
var saltShort = []struct{ flag, tgtType string }{
	{"E", types.TgtPCRE}, {"L", types.TgtList}, {"G", types.TgtGrain}, {"P", types.TgtGrainPCRE},
	{"I", types.TgtPillar}, {"J", types.TgtPillarPCRE}, {"S", types.TgtIPCIDR}, {"C", types.TgtCompound},
	{"N", types.TgtNodegroup},
}

func (tf *targetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&tf.tgtType, "t", "", "target type: "+strings.Join(types.TgtTypes, ", ")+" (default glob)")
	fs.StringVar(&tf.tgtType, "tgt-type", "", "target type (same as -t)")
	tf.short = map[string]*bool{}
	for _, s := range saltShort {
		tf.short[s.flag] = fs.Bool(s.flag, false, "target type "+s.tgtType)
	}
}

// resolve returns the target type the flags ask for, refusing two at once.
func (tf *targetFlags) resolve() (string, error) {
	chosen := tf.tgtType
	for _, s := range saltShort {
		if !*tf.short[s.flag] {
			continue
		}
		if chosen != "" && chosen != s.tgtType {
			return "", usagef("target type given twice (%s and -%s)", chosen, s.flag)
		}
		chosen = s.tgtType
	}
	if chosen == "" {
		chosen = types.TgtGlob
	}
	return chosen, nil
}

// jobFlags are the flags run and state share.
type jobFlags struct {
	target  targetFlags
	timeout float64
	async   bool
	pillar  string
}

func (jf *jobFlags) register(fs *flag.FlagSet) {
	jf.target.register(fs)
	fs.Float64Var(&jf.timeout, "timeout", 0, "seconds to wait for minions before recording them as no return (default: the master's)")
	fs.BoolVar(&jf.async, "async", false, "print the JID and return at once")
	fs.StringVar(&jf.pillar, "pillar", "", "pillar override for this job, as JSON (or YAML) object")
}

func cmdRun(ctx context.Context, a *app, args []string) error {
	fs := a.flagSet("run")
	var jf jobFlags
	jf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(a.stderr, "usage: brinectl run [-t TYPE|-E|-L|-G|-P|-I|-J|-S|-C|-N] [--timeout S] [--async] [--pillar JSON] TARGET FUN [ARG...] [key=value...]")
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		fs.Usage()
		return usagef("run needs TARGET and FUN")
	}
	req, err := jf.request(pos[0], pos[1])
	if err != nil {
		return err
	}
	req.Arg, req.Kwarg = splitArgs(pos[2:])
	def := outTable
	if strings.HasPrefix(req.Fun, "state.") {
		def = outHighstate // as Salt picks its highstate outputter for state runs
	}
	if err := a.connect(def); err != nil {
		return err
	}
	return a.submit(ctx, req, jf.async)
}

// request builds the job request common to run and state.
func (jf *jobFlags) request(tgt, fun string) (types.JobRequest, error) {
	tt, err := jf.target.resolve()
	if err != nil {
		return types.JobRequest{}, err
	}
	if jf.timeout < 0 {
		return types.JobRequest{}, usagef("--timeout must not be negative")
	}
	req := types.JobRequest{Tgt: tgt, TgtType: tt, Fun: fun, Timeout: jf.timeout}
	if jf.pillar != "" {
		p, err := parseObject("--pillar", jf.pillar)
		if err != nil {
			return req, err
		}
		req.Pillar = p
	}
	if err := req.Normalize(); err != nil {
		return req, usagef("%v", err)
	}
	return req, nil
}

// parseObject decodes a JSON (or YAML flow) object given on the command line.
func parseObject(what, s string) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err == nil {
		return m, nil
	}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, usagef("%s: want a JSON object like '{\"key\": \"value\"}', got %q", what, s)
	}
	return m, nil
}

// kwargRE is what makes "key=value" a keyword argument, as in Salt: the key
// must be an identifier, so 'echo a=b' stays a positional argument.
var kwargRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// splitArgs separates positional arguments from key=value ones and types
// the values (parseValue).
func splitArgs(args []string) ([]any, map[string]any) {
	var arg []any
	var kwarg map[string]any
	for _, s := range args {
		if kwargRE.MatchString(s) {
			k, v, _ := strings.Cut(s, "=")
			if kwarg == nil {
				kwarg = map[string]any{}
			}
			kwarg[k] = parseValue(v)
			continue
		}
		arg = append(arg, parseValue(s))
	}
	return arg, kwarg
}

var numberRE = regexp.MustCompile(`^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$`)

// parseValue types a command-line value the way Salt's YAML loading does
// for the cases that matter (numbers, True/False, None, [lists] and
// {maps}) and leaves everything else a string, so that 'echo a: b # c' is
// not turned into a map with a comment stripped.
func parseValue(s string) any {
	switch s {
	case "true", "True", "TRUE":
		return true
	case "false", "False", "FALSE":
		return false
	case "null", "None", "~":
		return nil
	}
	if numberRE.MatchString(s) {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	}
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
		var v any
		if err := json.Unmarshal([]byte(t), &v); err == nil {
			return v
		}
		if err := yaml.Unmarshal([]byte(t), &v); err == nil && v != nil {
			return normalizeYAML(v)
		}
	}
	return s
}

// normalizeYAML makes YAML-decoded values JSON-encodable (yaml.v3 decodes
// maps as map[string]any already; only nested lists need walking).
func normalizeYAML(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeYAML(e)
		}
	case []any:
		for i, e := range t {
			t[i] = normalizeYAML(e)
		}
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return m
	}
	return v
}

// submit starts the job and, unless async, waits for it and prints the
// returns. It submits without ?wait and then waits on the JID, so that an
// interrupted wait can still tell the user which job is running.
func (a *app) submit(ctx context.Context, req types.JobRequest, async bool) error {
	job, err := a.client.SubmitJob(ctx, req)
	if err != nil {
		return err
	}
	if async {
		return a.printAsync(job)
	}
	if a.tty {
		fmt.Fprintf(a.stderr, "jid %s: waiting for %d minion(s)\n", job.JID, len(job.Expected))
	}
	return a.waitAndPrint(ctx, job.JID, 0)
}

// waitAndPrint waits for a job, prints it and returns the exit status.
func (a *app) waitAndPrint(ctx context.Context, jid string, timeout time.Duration) error {
	done, err := a.client.WaitJob(ctx, jid, timeout)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(a.stderr, "brinectl: interrupted; job %s keeps running: brinectl job wait %s\n", jid, jid)
			return &exitError{exitUsage}
		}
		return err
	}
	if err := a.printJob(done); err != nil {
		return err
	}
	return jobExit(done)
}

// jobExit is 0 when every expected minion returned success, 1 otherwise.
func jobExit(j *types.JobDetail) error {
	if j.Succeeded() {
		return nil
	}
	return &exitError{exitFail}
}

func (a *app) printAsync(job *types.JobDetail) error {
	switch a.out {
	case outJSON:
		return writeJSONDoc(a.stdout, map[string]any{"jid": job.JID, "expected": job.Expected})
	case outYAML:
		return output.YAML(a.stdout, map[string]any{"jid": job.JID, "expected": job.Expected})
	default:
		fmt.Fprintln(a.stdout, job.JID)
		if a.tty {
			fmt.Fprintf(a.stderr, "expected %d minion(s); brinectl job wait %s\n", len(job.Expected), job.JID)
		}
		return nil
	}
}
