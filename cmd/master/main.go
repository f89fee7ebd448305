// Command brine-master is the Brine master daemon.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/brine-project/brine/pkg/daemon"
	"github.com/brine-project/brine/pkg/logging"
	"github.com/brine-project/brine/pkg/master"
)

const defaultConfig = "/etc/brine/master.yaml"

func main() {
	path := flag.String("c", defaultConfig, "configuration file")
	flag.Parse()
	os.Exit(run(*path))
}

func run(path string) int {
	var cfg master.Config
	if err := daemon.LoadConfig(path, defaultConfig, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "brine-master:", err)
		return 2
	}
	log, err := logging.New(os.Stderr, cfg.LogLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "brine-master:", err)
		return 2
	}
	ctx, stop := daemon.SignalContext(log)
	defer stop()
	m, err := master.New(ctx, cfg, log)
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
