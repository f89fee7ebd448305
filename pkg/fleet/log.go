package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// hookHandler shows every record of Info and above to on (the harness's
// view of the daemons' events) and passes records to out when out wants
// them.
type hookHandler struct {
	out slog.Handler // may be nil
	on  func(slog.Record)
}

func (h *hookHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || (h.out != nil && h.out.Enabled(ctx, l))
}

func (h *hookHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo && h.on != nil {
		h.on(r)
	}
	if h.out != nil && h.out.Enabled(ctx, r.Level) {
		return h.out.Handle(ctx, r)
	}
	return nil
}

func (h *hookHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	if c.out != nil {
		c.out = c.out.WithAttrs(as)
	}
	return &c
}

func (h *hookHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.out != nil {
		c.out = c.out.WithGroup(name)
	}
	return &c
}

// testHandler writes records of level and above to the test log, tagged
// with who logged them.
func (f *Fleet) testHandler(who string, level slog.Leveler) slog.Handler {
	return slog.NewTextHandler(f.logw, &slog.HandlerOptions{Level: level}).WithAttrs([]slog.Attr{slog.String("daemon", who)})
}

// tbWriter forwards log lines to the test log until the fleet is closed:
// daemon goroutines may outlive the test by a moment, and testing panics on
// a log call after the test completed.
type tbWriter struct {
	tb     testing.TB
	mu     sync.Mutex // guards closed and serialises calls into tb
	closed bool
}

func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.tb.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *tbWriter) logf(format string, args ...any) {
	_, _ = w.Write([]byte(fmt.Sprintf(format, args...)))
}

func (w *tbWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}
