// Command brine-minion is the Brine minion daemon.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/brine-project/brine/pkg/config"
	"github.com/brine-project/brine/pkg/logging"
	"github.com/brine-project/brine/pkg/minion"
)

const defaultConfig = "/etc/brine/minion.yaml"

func main() {
	path := flag.String("c", defaultConfig, "configuration file")
	flag.Parse()
	os.Exit(run(*path))
}

func run(path string) int {
	var cfg minion.Config
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && path == defaultConfig {
		path = "" // no file: defaults and BRINE_* apply
	}
	if err := config.Load(path, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "brine-minion:", err)
		return 2
	}
	cfg.Defaults()
	log, err := logging.New(os.Stderr, cfg.LogLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "brine-minion:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	m, err := minion.New(cfg, log, nil)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	go func() {
		// A second signal, or a stop that takes too long, forces the exit.
		<-ctx.Done()
		stop()
		force := make(chan os.Signal, 1)
		signal.Notify(force, syscall.SIGTERM, syscall.SIGINT)
		select {
		case <-force:
		case <-time.After(5 * time.Second):
		}
		log.Error("forced exit")
		os.Exit(1)
	}()
	if err := m.Run(ctx); err != nil {
		log.Error("stopped with error", "err", err)
		return 1
	}
	return 0
}
