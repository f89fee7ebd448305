package transport

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
)

// SubscriberConfig configures the minion's publish-port client.
type SubscriberConfig struct {
	ClientConfig
	// Topics are subscribed after every (re)connect. Empty means one
	// empty topic, which receives everything.
	Topics []string
	// IdleTimeout, when set, drops a connection on which nothing arrived
	// for that long (the master publishes heartbeats) and reconnects, to
	// get past a half-open TCP connection.
	IdleTimeout time.Duration
	// OnConnect, when set, is called after each (re)connect, once the
	// subscriptions are sent and before anything is read: a minion
	// re-authenticates from here, since a reconnect may mean a new master
	// and a new session key. It runs in the session goroutine and should
	// return quickly.
	OnConnect func(addr string)
}

// Subscriber is the minion's end of the publish port.
type Subscriber struct {
	cfg      SubscriberConfig
	handle   func(frames [][]byte)
	sessions atomic.Uint64
	received atomic.Uint64
}

// NewSubscriber returns a subscriber that delivers each message to handle.
// handle runs in the reading goroutine: it must hand work off rather than
// run it, since a subscriber that stops reading is cut off by the master.
func NewSubscriber(cfg SubscriberConfig, handle func(frames [][]byte)) (*Subscriber, error) {
	if handle == nil {
		return nil, fmt.Errorf("transport: subscriber needs a handler")
	}
	if err := cfg.normalize("subscriber"); err != nil {
		return nil, err
	}
	if len(cfg.Topics) == 0 {
		cfg.Topics = []string{""}
	}
	return &Subscriber{cfg: cfg, handle: handle}, nil
}

// Run keeps a subscription alive until ctx is done, then returns ctx's
// error. Call it once per Subscriber.
func (s *Subscriber) Run(ctx context.Context) error {
	return redial(ctx, &s.cfg.ClientConfig, zmq4.Sub, s.session)
}

// Sessions counts connections established so far (1 + reconnects).
func (s *Subscriber) Sessions() uint64 { return s.sessions.Load() }

// Received counts messages delivered to the handler.
func (s *Subscriber) Received() uint64 { return s.received.Load() }

func (s *Subscriber) session(nc net.Conn, addr string) error {
	w := &connWriter{nc: nc, timeout: s.cfg.WriteTimeout}
	for _, t := range s.cfg.Topics {
		sub := append([]byte{1}, t...)
		if err := w.write(encodeMessage([][]byte{sub})); err != nil {
			return fmt.Errorf("transport: subscribe: %w", err)
		}
	}
	s.sessions.Add(1)
	s.cfg.Logger.Debug("subscribed", "addr", addr, "topics", len(s.cfg.Topics))
	if s.cfg.OnConnect != nil {
		s.cfg.OnConnect(addr)
	}
	r := bufio.NewReaderSize(nc, 16<<10)
	for {
		if s.cfg.IdleTimeout > 0 {
			if err := nc.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout)); err != nil {
				return fmt.Errorf("transport: set read deadline: %w", err)
			}
		}
		msg, err := readMessage(r, s.cfg.Limits)
		if err != nil {
			return err
		}
		if msg.command {
			if err := handleCommand(w, msg.frames[0]); err != nil {
				return err
			}
			continue
		}
		s.received.Add(1)
		s.handle(msg.frames)
	}
}
