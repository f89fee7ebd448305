package transport

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/go-zeromq/zmq4"
)

// RequesterConfig configures the minion's request-port client.
type RequesterConfig struct {
	ClientConfig
	// OnConnect, when set, runs in its own goroutine after each
	// (re)connect with a context that ends with the connection: the minion
	// authenticates from here, using Request.
	OnConnect func(ctx context.Context, addr string)
}

// Requester is the minion's end of the request port: a DEALER that may
// pipeline requests. The hub answers the requests of one connection in
// order, so replies are matched to requests first-in, first-out.
type Requester struct {
	cfg      RequesterConfig
	sessions atomic.Uint64

	// mu guards cur and up.
	mu  sync.Mutex
	cur *reqSession   // nil while disconnected
	up  chan struct{} // closed when cur becomes non-nil
}

// reqSession is one connection and the requests waiting on it.
type reqSession struct {
	w connWriter
	// pending is guarded by w.mu, so that queue order and wire order agree.
	pending []chan reqResult
	closed  bool // guarded by w.mu
}

type reqResult struct {
	frames [][]byte
	err    error
}

// NewRequester returns a requester; call Run to connect.
func NewRequester(cfg RequesterConfig) (*Requester, error) {
	if err := cfg.normalize("requester"); err != nil {
		return nil, err
	}
	return &Requester{cfg: cfg, up: make(chan struct{})}, nil
}

// Run keeps the connection alive until ctx is done, then returns ctx's
// error. Call it once per Requester.
func (r *Requester) Run(ctx context.Context) error {
	return redial(ctx, &r.cfg.ClientConfig, zmq4.Dealer, func(nc net.Conn, addr string) error {
		return r.session(ctx, nc, addr)
	})
}

// Sessions counts connections established so far (1 + reconnects).
func (r *Requester) Sessions() uint64 { return r.sessions.Load() }

// Request sends frames and waits for the reply. While disconnected it
// waits for the next connection. If the connection drops before the reply,
// it returns ErrDisconnected: the caller decides whether to resend (the
// master dedupes returns by job and minion).
func (r *Requester) Request(ctx context.Context, frames ...[]byte) ([][]byte, error) {
	buf := encodeMessage(frames)
	for {
		s, err := r.current(ctx)
		if err != nil {
			return nil, err
		}
		ch := make(chan reqResult, 1)
		s.w.mu.Lock()
		if s.closed {
			s.w.mu.Unlock()
			continue
		}
		s.pending = append(s.pending, ch)
		werr := s.w.writeLocked(buf)
		s.w.mu.Unlock()
		if werr != nil {
			// The reader sees the broken connection and fails ch.
			_ = s.w.nc.Close()
		}
		select {
		case res := <-ch:
			return res.frames, res.err
		case <-ctx.Done():
			// ch is buffered: the reply, if it comes, is dropped.
			return nil, ctx.Err()
		}
	}
}

// current returns the current session, waiting for one if needed.
func (r *Requester) current(ctx context.Context) (*reqSession, error) {
	for {
		r.mu.Lock()
		s, up := r.cur, r.up
		r.mu.Unlock()
		if s != nil {
			return s, nil
		}
		select {
		case <-up:
		case <-ctx.Done():
			return nil, fmt.Errorf("transport: waiting for connection: %w", ctx.Err())
		}
	}
}

func (r *Requester) session(ctx context.Context, nc net.Conn, addr string) error {
	s := &reqSession{w: connWriter{nc: nc, timeout: r.cfg.WriteTimeout}}
	r.mu.Lock()
	r.cur = s
	close(r.up)
	r.mu.Unlock()
	r.sessions.Add(1)

	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if r.cfg.OnConnect != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.cfg.OnConnect(sctx, addr)
		}()
	}
	err := r.readReplies(s)

	r.mu.Lock()
	r.cur = nil
	r.up = make(chan struct{})
	r.mu.Unlock()
	s.w.mu.Lock()
	s.closed = true
	for _, ch := range s.pending {
		ch <- reqResult{err: fmt.Errorf("%w: %w", ErrDisconnected, err)}
	}
	s.pending = nil
	s.w.mu.Unlock()
	cancel()
	wg.Wait()
	return err
}

func (r *Requester) readReplies(s *reqSession) error {
	br := bufio.NewReaderSize(s.w.nc, 4<<10)
	for {
		msg, err := readMessage(br, r.cfg.Limits)
		if err != nil {
			return err
		}
		if msg.command {
			if err := handleCommand(&s.w, msg.frames[0]); err != nil {
				return err
			}
			continue
		}
		s.w.mu.Lock()
		if len(s.pending) == 0 {
			s.w.mu.Unlock()
			return fmt.Errorf("%w: reply without a request", ErrProtocol)
		}
		ch := s.pending[0]
		s.pending[0] = nil
		s.pending = s.pending[1:]
		s.w.mu.Unlock()
		ch <- reqResult{frames: msg.frames}
	}
}
