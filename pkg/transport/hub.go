package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
)

// Handler answers messages arriving on the hub's request port.
//
// Requests from one connection are handled one at a time, in order, and each
// gets exactly one reply, so a client may pipeline requests and match replies
// by order. A nil reply is sent as one empty frame. An error closes the
// connection (use it for protocol violations; application errors belong in
// the reply). Handlers for different connections run concurrently.
type Handler interface {
	HandleRequest(ctx context.Context, p *Peer, frames [][]byte) (reply [][]byte, err error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, p *Peer, frames [][]byte) ([][]byte, error)

// HandleRequest calls f.
func (f HandlerFunc) HandleRequest(ctx context.Context, p *Peer, frames [][]byte) ([][]byte, error) {
	return f(ctx, p, frames)
}

// HubConfig configures a Hub. Zero values take the documented defaults.
type HubConfig struct {
	// PublishAddr is the listen address of the publish port (default ":4505").
	PublishAddr string
	// RequestAddr is the listen address of the request port (default ":4506").
	RequestAddr string
	// Handler answers requests. Required.
	Handler Handler
	// QueueSize bounds each publish connection's send queue, in messages
	// (default 256). A peer whose queue fills is disconnected. The queue
	// holds references to shared broadcast buffers, so it costs 24 bytes
	// a slot per peer until used.
	QueueSize int
	// RequestQueueSize bounds each request connection's send queue
	// (default 64): replies come one per request, so it rarely holds more
	// than a few, unless handlers push with Peer.Send.
	RequestQueueSize int
	// WriteTimeout bounds each write to one peer (default 5s). A peer
	// that does not read for this long is disconnected.
	WriteTimeout time.Duration
	// HandshakeTimeout bounds the ZMTP handshake (default 10s).
	HandshakeTimeout time.Duration
	// Limits bounds incoming messages (default DefaultLimits).
	Limits Limits
	// Logger receives connection events (default: discard).
	Logger *slog.Logger
	// OnSubscription, when set, is told each time a publish peer
	// subscribes to a topic or drops it (by unsubscribing or
	// disconnecting). With one topic per minion, it is how the master
	// tracks which minions are connected. It runs in the peer's reading
	// goroutine, without hub locks held, and should return quickly.
	OnSubscription func(p *Peer, topic string, subscribed bool)
}

// HubStats are cumulative counters and current gauges of a Hub.
type HubStats struct {
	Subscribers      int    // publish connections now
	Requesters       int    // request connections now
	Accepted         uint64 // connections that completed the handshake
	HandshakeFailed  uint64 // connections dropped during the handshake
	SlowDisconnects  uint64 // peers cut off because their queue was full
	WriteErrors      uint64 // peers cut off by a failed or timed-out write
	ProtocolErrors   uint64 // peers cut off for malformed input
	PublishedFrames  uint64 // messages queued to publish peers
	RequestsHandled  uint64 // requests answered
	RequestsRejected uint64 // requests whose handler returned an error
}

// Delivery reports what one publish did.
type Delivery struct {
	Queued  int // peers the message was queued to
	Dropped int // matching peers that were cut off (queue full or closed)
}

// Hub is the master's end of the transport. Create it with NewHub, then
// Start it; Stop is idempotent.
type Hub struct {
	cfg HubConfig
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	nextID atomic.Uint64

	pubLn, reqLn net.Listener
	stopOnce     sync.Once

	// mu guards subs, exact, reqs, changed and every Peer's topics.
	mu      sync.RWMutex
	subs    map[*Peer]struct{}
	exact   map[string]map[*Peer]struct{} // topic -> peers subscribed to exactly it
	reqs    map[*Peer]struct{}
	changed chan struct{} // closed and replaced on every subscription change

	stats struct {
		accepted, handshakeFailed, slow, writeErrors, protocolErrors atomic.Uint64
		published, handled, rejected                                 atomic.Uint64
	}
}

// NewHub validates cfg and returns a hub that is not yet listening.
func NewHub(cfg HubConfig) (*Hub, error) {
	if cfg.Handler == nil {
		return nil, errors.New("transport: hub needs a request handler")
	}
	if cfg.PublishAddr == "" {
		cfg.PublishAddr = ":4505"
	}
	if cfg.RequestAddr == "" {
		cfg.RequestAddr = ":4506"
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	if cfg.RequestQueueSize <= 0 {
		cfg.RequestQueueSize = 64
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	cfg.Limits = cfg.Limits.withDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{
		cfg:     cfg,
		log:     log.With(slog.String("component", "transport.hub")),
		subs:    make(map[*Peer]struct{}),
		exact:   make(map[string]map[*Peer]struct{}),
		reqs:    make(map[*Peer]struct{}),
		changed: make(chan struct{}),
	}, nil
}

// Start binds both ports and starts accepting. The hub runs until Stop is
// called or ctx is done; ctx is also what request handlers receive.
func (h *Hub) Start(ctx context.Context) error {
	var lc net.ListenConfig
	pub, err := lc.Listen(ctx, "tcp", h.cfg.PublishAddr)
	if err != nil {
		return fmt.Errorf("transport: listen on publish port: %w", err)
	}
	req, err := lc.Listen(ctx, "tcp", h.cfg.RequestAddr)
	if err != nil {
		_ = pub.Close()
		return fmt.Errorf("transport: listen on request port: %w", err)
	}
	h.pubLn, h.reqLn = pub, req
	h.ctx, h.cancel = context.WithCancel(ctx)
	h.wg.Add(3)
	go h.acceptLoop(pub, "publish")
	go h.acceptLoop(req, "request")
	go func() {
		defer h.wg.Done()
		<-h.ctx.Done()
		h.shutdown()
	}()
	h.log.Info("transport listening",
		slog.String("publish", pub.Addr().String()), slog.String("request", req.Addr().String()))
	return nil
}

// PublishAddr is the bound publish address (useful with port 0); valid
// after Start.
func (h *Hub) PublishAddr() net.Addr { return h.pubLn.Addr() }

// RequestAddr is the bound request address.
func (h *Hub) RequestAddr() net.Addr { return h.reqLn.Addr() }

// Stop closes the listeners and every connection and waits for all of the
// hub's goroutines. It is safe to call more than once.
func (h *Hub) Stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.wg.Wait()
}

// Shutdown stops accepting connections, gives the messages already queued
// until ctx is done to reach their peers (a final notice before a restart,
// say), then stops as Stop does. Peers that stopped reading are not waited
// for beyond ctx.
func (h *Hub) Shutdown(ctx context.Context) {
	if h.cancel == nil {
		return
	}
	_ = h.pubLn.Close()
	_ = h.reqLn.Close()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !h.drained() {
		select {
		case <-ctx.Done():
			h.Stop()
			return
		case <-tick.C:
		}
	}
	h.Stop()
}

// drained reports whether every peer has written all it was given.
func (h *Hub) drained() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, set := range []map[*Peer]struct{}{h.subs, h.reqs} {
		for p := range set {
			if p.unsent.Load() > 0 {
				return false
			}
		}
	}
	return true
}

// shutdown closes everything once; the goroutines then exit on their own.
func (h *Hub) shutdown() {
	h.stopOnce.Do(func() {
		_ = h.pubLn.Close()
		_ = h.reqLn.Close()
		h.mu.RLock()
		for p := range h.subs {
			p.closeWith(ErrPeerClosed)
		}
		for p := range h.reqs {
			p.closeWith(ErrPeerClosed)
		}
		h.mu.RUnlock()
	})
}

func (h *Hub) acceptLoop(ln net.Listener, port string) {
	defer h.wg.Done()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if h.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as
			// net/http does rather than spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			h.log.Warn("accept failed", slog.String("port", port), slog.Any("err", err))
			select {
			case <-time.After(delay):
			case <-h.ctx.Done():
				return
			}
			continue
		}
		delay = 0
		h.wg.Add(1)
		go h.serve(nc, port)
	}
}

// serve runs one connection: handshake, register, writer, reader.
func (h *Hub) serve(nc net.Conn, port string) {
	defer h.wg.Done()
	typ := zmq4.Pub
	if port == "request" {
		typ = zmq4.Router
	}
	meta, err := handshake(nc, typ, "", true, h.cfg.HandshakeTimeout)
	if err != nil {
		h.stats.handshakeFailed.Add(1)
		h.log.Debug("handshake failed", slog.String("port", port),
			slog.String("remote", nc.RemoteAddr().String()), slog.Any("err", err))
		_ = nc.Close()
		return
	}
	h.stats.accepted.Add(1)
	queueSize := h.cfg.QueueSize
	if port == "request" {
		queueSize = h.cfg.RequestQueueSize
	}
	p := &Peer{
		hub:      h,
		id:       h.nextID.Add(1),
		nc:       nc,
		port:     port,
		identity: meta["Identity"],
		// Metadata names are case-insensitive in ZMTP; zmq4 title-cases them.
		reqEnvelope: port == "request" && meta["Socket-Type"] == string(zmq4.Req),
		remote:      nc.RemoteAddr().String(),
		queue:       make(chan []byte, queueSize),
		done:        make(chan struct{}),
	}
	if !h.register(p) {
		_ = nc.Close()
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		p.writeLoop(h.cfg.WriteTimeout)
	}()

	var rerr error
	if port == "request" {
		rerr = p.readLoop(h.cfg.Limits, func(m message) error { return h.handleRequest(p, m) })
	} else {
		rerr = p.readLoop(h.cfg.Limits, func(m message) error { return h.handleSubscription(p, m) })
	}
	if errors.Is(rerr, ErrProtocol) {
		h.stats.protocolErrors.Add(1) // before the close the peer can observe
	}
	p.closeWith(rerr)
	h.unregister(p)
	// A peer cut off for being slow is worth an operator's attention;
	// ordinary disconnects are not.
	lvl := slog.LevelDebug
	if errors.Is(p.closeErr, ErrSlowPeer) || errors.Is(p.closeErr, errWrite) {
		lvl = slog.LevelWarn
	}
	h.log.Log(h.ctx, lvl, "peer disconnected", slog.String("port", port), slog.Uint64("peer", p.id),
		slog.String("identity", p.identity), slog.String("remote", p.remote), slog.Any("reason", p.closeErr))
}

// register adds p unless the hub is stopping (then shutdown would miss it).
func (h *Hub) register(p *Peer) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx.Err() != nil {
		return false
	}
	if p.port == "request" {
		h.reqs[p] = struct{}{}
	} else {
		p.topics = make(map[string]struct{})
		h.subs[p] = struct{}{}
		h.notifyLocked()
	}
	return true
}

func (h *Hub) unregister(p *Peer) {
	h.mu.Lock()
	if p.port == "request" {
		delete(h.reqs, p)
		h.mu.Unlock()
		return
	}
	delete(h.subs, p)
	gone := make([]string, 0, len(p.topics))
	for t := range p.topics {
		h.dropExactLocked(t, p)
		gone = append(gone, t)
	}
	h.notifyLocked()
	h.mu.Unlock()
	if h.cfg.OnSubscription != nil {
		for _, t := range gone {
			h.cfg.OnSubscription(p, t, false)
		}
	}
}

func (h *Hub) dropExactLocked(topic string, p *Peer) {
	if set := h.exact[topic]; set != nil {
		delete(set, p)
		if len(set) == 0 {
			delete(h.exact, topic)
		}
	}
}

func (h *Hub) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *Hub) handleRequest(p *Peer, m message) error {
	if m.command {
		return nil // no other command means anything on a ROUTER
	}
	frames := m.frames
	if p.reqEnvelope {
		// A REQ socket puts an empty delimiter before its request and
		// expects one before the reply; handlers never see it.
		if len(frames) < 2 || len(frames[0]) != 0 {
			return fmt.Errorf("%w: REQ message without empty delimiter", ErrProtocol)
		}
		frames = frames[1:]
	}
	reply, err := h.cfg.Handler.HandleRequest(h.ctx, p, frames)
	if err != nil {
		h.stats.rejected.Add(1)
		return fmt.Errorf("transport: request handler: %w", err)
	}
	h.stats.handled.Add(1)
	if p.reqEnvelope {
		reply = append([][]byte{{}}, reply...)
	}
	return p.enqueueReply(encodeMessage(reply))
}

// Stats returns a snapshot of the hub's counters.
func (h *Hub) Stats() HubStats {
	h.mu.RLock()
	s := HubStats{Subscribers: len(h.subs), Requesters: len(h.reqs)}
	h.mu.RUnlock()
	s.Accepted = h.stats.accepted.Load()
	s.HandshakeFailed = h.stats.handshakeFailed.Load()
	s.SlowDisconnects = h.stats.slow.Load()
	s.WriteErrors = h.stats.writeErrors.Load()
	s.ProtocolErrors = h.stats.protocolErrors.Load()
	s.PublishedFrames = h.stats.published.Load()
	s.RequestsHandled = h.stats.handled.Load()
	s.RequestsRejected = h.stats.rejected.Load()
	return s
}
