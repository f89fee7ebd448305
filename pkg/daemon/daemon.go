// Package daemon holds what the two daemons' mains share: the stop signals.
// The first SIGTERM or SIGINT cancels the returned context for a graceful
// stop; a second signal, or a stop that takes longer than the grace period,
// ends the process.
package daemon

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
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
