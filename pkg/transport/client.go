package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
)

// ErrDisconnected is returned for requests whose connection dropped before
// the reply came; the request may or may not have been handled.
var ErrDisconnected = errors.New("transport: disconnected")

// ClientConfig is what both minion-side clients share. Zero values take the
// documented defaults.
type ClientConfig struct {
	// Addrs are the master addresses (host:port), tried in rotation: the
	// next one after each failed attempt. At least one is required.
	Addrs []string
	// Identity is the ZMTP identity to announce, normally the minion id.
	Identity string
	// Backoff paces reconnects; it is reset once a session is established.
	Backoff Backoff
	// HandshakeTimeout bounds dial plus ZMTP handshake (default 10s).
	HandshakeTimeout time.Duration
	// WriteTimeout bounds each write (default 10s).
	WriteTimeout time.Duration
	// Limits bounds incoming messages (default DefaultLimits).
	Limits Limits
	// Logger receives connection events (default: discard).
	Logger *slog.Logger
	// LogEvery throttles repeated connect errors: the first failure of a
	// streak is logged at Warn, then every LogEvery-th (default 10), the
	// rest at Debug.
	LogEvery int
}

func (c *ClientConfig) normalize(component string) error {
	if len(c.Addrs) == 0 {
		return fmt.Errorf("transport: %s needs at least one address", component)
	}
	for _, a := range c.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("transport: %s address %q: %w", component, a, err)
		}
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.LogEvery <= 0 {
		c.LogEvery = 10
	}
	c.Limits = c.Limits.withDefaults()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Logger = c.Logger.With(slog.String("component", "transport."+component))
	return nil
}

// redial runs session on a fresh connection again and again until ctx is
// done: dial, handshake, session until it fails, jittered pause, repeat.
// The pause also follows a session that ended, so a fleet that loses its
// master at the same instant comes back spread over the jitter window.
func redial(ctx context.Context, cfg *ClientConfig, typ zmq4.SocketType, session func(net.Conn, string) error) error {
	b := cfg.Backoff
	next, failures := 0, 0
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := b.Wait(ctx); err != nil {
				return err
			}
		}
		addr := cfg.Addrs[next%len(cfg.Addrs)]
		nc, release, err := dial(ctx, addr, typ, cfg)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failures++
			next++
			lvl := slog.LevelDebug
			if failures == 1 || failures%cfg.LogEvery == 0 {
				lvl = slog.LevelWarn
			}
			cfg.Logger.Log(ctx, lvl, "connect failed", slog.String("addr", addr),
				slog.Int("failures", failures), slog.Any("err", err))
			continue
		}
		if failures > 0 {
			cfg.Logger.Info("connected after failures", slog.String("addr", addr), slog.Int("failures", failures))
		}
		failures = 0
		b.Reset()
		err = session(nc, addr)
		release()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cfg.Logger.Info("connection lost", slog.String("addr", addr), slog.Any("err", err))
	}
}

// dial connects and handshakes; release closes the connection and drops
// the ctx hook.
func dial(ctx context.Context, addr string, typ zmq4.SocketType, cfg *ClientConfig) (nc net.Conn, release func(), err error) {
	d := net.Dialer{Timeout: cfg.HandshakeTimeout}
	nc, err = d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("transport: dial %s: %w", addr, err)
	}
	// Closing the connection is how a cancelled ctx interrupts the
	// handshake and the session's blocking reads.
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	if _, err := handshake(nc, typ, cfg.Identity, false, cfg.HandshakeTimeout); err != nil {
		stop()
		_ = nc.Close()
		return nil, nil, err
	}
	return nc, func() { stop(); _ = nc.Close() }, nil
}

// connWriter serialises writes to a client connection, each bounded by the
// write timeout: whole messages, so a PONG never lands inside another one.
type connWriter struct {
	mu      sync.Mutex // guards writes to nc
	nc      net.Conn
	timeout time.Duration
}

func (w *connWriter) write(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeLocked(b)
}

func (w *connWriter) writeLocked(b []byte) error {
	if err := w.nc.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
		return fmt.Errorf("transport: set write deadline: %w", err)
	}
	if _, err := w.nc.Write(b); err != nil {
		return fmt.Errorf("transport: write: %w", err)
	}
	return nil
}

// handleCommand answers what a client must answer (PING) and reports an
// ERROR command as the end of the session.
func handleCommand(w *connWriter, frame []byte) error {
	name, data, err := parseCommand(frame)
	if err != nil {
		return err
	}
	switch name {
	case cmdPing:
		return w.write(pongFor(data))
	case cmdError:
		return fmt.Errorf("%w: peer sent ERROR %q", ErrProtocol, data)
	}
	return nil
}
