// Package logging builds the daemons' slog loggers: one event per line,
// key=value text, at the level the config names.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// New returns a text logger writing to w at level ("debug", "info",
// "warning"/"warn", "error"; empty means info).
func New(w io.Writer, level string) (*slog.Logger, error) {
	lv, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv})), nil
}

// ParseLevel maps Salt's level names onto slog's.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug", "trace", "all", "garbage":
		return slog.LevelDebug, nil
	case "warning", "warn":
		return slog.LevelWarn, nil
	case "error", "critical", "quiet":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("logging: unknown log_level %q (want debug, info, warning or error)", s)
}
