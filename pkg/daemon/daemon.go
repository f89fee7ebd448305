// Package daemon holds what the two daemons' mains share: loading their
// config, and the stop signals. The first SIGTERM or SIGINT cancels the
// returned context for a graceful stop; a second signal, or a stop that
// takes longer than the grace period, ends the process.
package daemon

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/brine-project/brine/pkg/config"
)

// Grace is how long a graceful stop may take before the process exits.
const Grace = 5 * time.Second

// SignalContext returns a context cancelled by the first stop signal. Call
// stop when the daemon has returned.
func SignalContext(log *slog.Logger) (ctx context.Context, stop func()) {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		cancel() // restore default handling before listening again
		force := make(chan os.Signal, 1)
		signal.Notify(force, syscall.SIGTERM, syscall.SIGINT)
		select {
		case <-force:
		case <-time.After(Grace):
		case <-done:
			return
		}
		log.Error("forced exit")
		os.Exit(1)
	}()
	return ctx, func() { close(done); cancel() }
}

// Defaulter is a daemon config that fills its own defaults.
type Defaulter interface{ Defaults() }

// LoadConfig loads path into cfg strictly (pkg/config: file:line errors,
// BRINE_<KEY> overlay), then fills defaults. A missing file at the daemon's
// default location is no error: defaults and the environment apply.
func LoadConfig(path, defaultPath string, cfg Defaulter) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && path == defaultPath {
		path = ""
	}
	if err := config.Load(path, cfg); err != nil {
		return err
	}
	cfg.Defaults()
	return nil
}
