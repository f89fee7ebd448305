package api

import (
	"log/slog"
	"time"

	"github.com/brine-project/brine/pkg/events"
)

// Config configures the API server.
type Config struct {
	// Backend is the master. Required.
	Backend Backend
	// Tokens are the master config's api_tokens.
	Tokens []Token
	// AdminToken, when set, is one more admin token (the secret itself, not
	// a hash): the master passes the content of <data_dir>/admin.token
	// (EnsureAdminToken) when no api_tokens are configured.
	AdminToken string
	// Logger receives one line per failed request; nil discards.
	Logger *slog.Logger
	// Bus feeds GET /events and receives the events of POST /hooks.
	// Required.
	Bus *events.Bus
	// Heartbeat is the interval of the comment lines GET /events sends so
	// proxies and clients see a live stream. Default 15s.
	Heartbeat time.Duration
	// EventBuffer is each event stream's subscription buffer. Default 1024.
	EventBuffer int
	// MaxBodyBytes caps request bodies. Default 1 MiB.
	MaxBodyBytes int64
	// MaxEventStreams caps concurrent GET /events streams (each holds a
	// goroutine and a subscription buffer); over it the answer is 503.
	// Default 1000.
	MaxEventStreams int
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = 1024
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxEventStreams <= 0 {
		c.MaxEventStreams = 1000
	}
}
