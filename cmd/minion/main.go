// Command brine-minion is the Brine minion daemon.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/brine-project/brine/pkg/daemon"
	"github.com/brine-project/brine/pkg/logging"
	"github.com/brine-project/brine/pkg/minion"
	"github.com/brine-project/brine/pkg/output"
	"github.com/mattn/go-isatty"
	"gopkg.in/yaml.v3"
)

const defaultConfig = "/etc/brine/minion.yaml"

func main() {
	path := flag.String("c", defaultConfig, "configuration file")
	localCall := flag.Bool("local", false, "run FUN [ARG...] [key=value...] here without a master, like salt-call --local")
	out := flag.String("out", "", "output of --local: highstate (default for state runs), json (default otherwise) or yaml")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: brine-minion [-c minion.yaml]\n       brine-minion --local [-c minion.yaml] [--out highstate|json|yaml] FUN [ARG...] [key=value...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *localCall {
		os.Exit(runLocal(*path, *out, flag.Args()))
	}
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(*path))
}

func loadConfig(path string) (minion.Config, error) {
	var cfg minion.Config
	err := daemon.LoadConfig(path, defaultConfig, &cfg)
	return cfg, err
}

// runLocal is salt-call --local: one function, printed as {"local": ret},
// exit status the function's retcode.
func runLocal(path, out string, args []string) int {
	if len(args) == 0 || out != "" && out != "json" && out != "yaml" && out != "highstate" {
		flag.Usage()
		return 2
	}
	cfg, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "brine-minion:", err)
		return 2
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "warning"
	}
	log, err := logging.New(os.Stderr, cfg.LogLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "brine-minion:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	fargs := make([]any, 0, len(args)-1)
	for _, a := range args[1:] {
		fargs = append(fargs, a)
	}
	ret, code, err := minion.Local(ctx, cfg, log, nil, args[0], fargs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "brine-minion:", err)
		return 2
	}
	if out == "" {
		out = "json"
		if strings.HasPrefix(args[0], "state.") && !strings.HasPrefix(args[0], "state.show") {
			out = "highstate"
		}
	}
	doc := map[string]any{"local": ret}
	var b []byte
	switch out {
	case "highstate":
		// Through JSON: the outputter reads plain maps, as a job's return is.
		var generic any
		if b, err = json.Marshal(ret); err == nil {
			err = json.Unmarshal(b, &generic)
		}
		var sb strings.Builder
		output.Style{Color: isatty.IsTerminal(os.Stdout.Fd())}.Highstate(&sb, "local", generic, code == 0, code)
		b = []byte(sb.String())
	case "yaml":
		// Through JSON first: returns may be types that only know JSON.
		var generic any
		if b, err = json.Marshal(doc); err == nil {
			if err = json.Unmarshal(b, &generic); err == nil {
				b, err = yaml.Marshal(generic)
			}
		}
	default:
		b, err = json.MarshalIndent(doc, "", "  ")
		b = append(b, '\n')
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "brine-minion:", err)
		return 1
	}
	os.Stdout.Write(b)
	return code
}

func run(path string) int {
	cfg, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "brine-minion:", err)
		return 2
	}
	log, err := logging.New(os.Stderr, cfg.LogLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "brine-minion:", err)
		return 2
	}
	ctx, stop := daemon.SignalContext(log)
	defer stop()
	m, err := minion.New(cfg, log, nil)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if err := m.Run(ctx); err != nil {
		log.Error("stopped with error", "err", err)
		return 1
	}
	return 0
}
