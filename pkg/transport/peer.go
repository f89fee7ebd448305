package transport

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Errors a send to a peer can return.
var (
	// ErrPeerClosed means the connection is gone; the peer will reconnect.
	ErrPeerClosed = errors.New("transport: peer connection closed")
	// ErrSlowPeer means the peer's send queue was full: it is disconnected.
	ErrSlowPeer = errors.New("transport: peer send queue full")
	// errWrite marks a peer cut off by a failed or timed-out write.
	errWrite = errors.New("transport: write failed")
)

// maxBatch bounds how many queued messages one writev carries, so one
// flush stays within a few write deadlines' worth of data.
const maxBatch = 64

// Peer is one ZMTP connection accepted by the hub, on either port. Its
// methods are safe for concurrent use.
type Peer struct {
	hub      *Hub
	id       uint64
	nc       net.Conn
	port     string // "publish" or "request"
	identity string
	remote   string
	// reqEnvelope: the peer is a REQ socket, whose messages carry an
	// empty delimiter frame.
	reqEnvelope bool

	queue     chan []byte // encoded messages, bounded
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error // set once, before done is closed

	// topics is the set of subscriptions of a publish peer. Guarded by
	// hub.mu, because the hub's topic index changes with it.
	topics map[string]struct{}

	tag atomic.Pointer[any]

	// unsent counts messages queued and not yet written, for Shutdown.
	unsent atomic.Int64
}

// ID is unique per connection for the life of the hub.
func (p *Peer) ID() uint64 { return p.id }

// Identity is the ZMTP identity the peer announced (a minion sets its id);
// empty when the peer sent none.
func (p *Peer) Identity() string { return p.identity }

// RemoteAddr is the peer's address as host:port.
func (p *Peer) RemoteAddr() string { return p.remote }

// SetTag attaches a value to the connection, typically what authentication
// established (the minion id and its request key), so later requests on the
// same connection can find it.
func (p *Peer) SetTag(v any) { p.tag.Store(&v) }

// Tag returns the value given to SetTag, or nil.
func (p *Peer) Tag() any {
	if v := p.tag.Load(); v != nil {
		return *v
	}
	return nil
}

// Send queues a message to this peer without waiting for it to be written.
// A full queue disconnects the peer and returns ErrSlowPeer.
func (p *Peer) Send(frames ...[]byte) error {
	return p.enqueue(encodeMessage(frames))
}

// Close disconnects the peer.
func (p *Peer) Close() { p.closeWith(ErrPeerClosed) }

// Done is closed when the connection is gone.
func (p *Peer) Done() <-chan struct{} { return p.done }

// enqueue never blocks: a peer that cannot keep up is cut off so that it
// cannot hold up whoever is publishing.
func (p *Peer) enqueue(b []byte) error {
	select {
	case <-p.done:
		return ErrPeerClosed
	default:
	}
	// Counted before the send, so the writer never subtracts first.
	p.unsent.Add(1)
	select {
	case p.queue <- b:
		return nil
	case <-p.done:
		p.unsent.Add(-1)
		return ErrPeerClosed
	default:
		p.unsent.Add(-1)
		p.hub.stats.slow.Add(1)
		p.closeWith(ErrSlowPeer)
		return ErrSlowPeer
	}
}

// enqueueReply waits for queue space: a client that pipelines requests
// without reading replies only stops its own reads (the writer's deadline
// still bounds how long it can hold them), so replies are never a reason
// to cut a peer off.
func (p *Peer) enqueueReply(b []byte) error {
	p.unsent.Add(1)
	select {
	case p.queue <- b:
		return nil
	case <-p.done:
		p.unsent.Add(-1)
		return ErrPeerClosed
	}
}

// closeWith closes the connection once, recording why. Removing the peer
// from the hub is left to its reader goroutine, whose read fails next, so
// that closeWith can be called with hub.mu held.
func (p *Peer) closeWith(err error) {
	p.closeOnce.Do(func() {
		p.closeErr = err
		close(p.done)
		_ = p.nc.Close()
	})
}

// writeLoop is the only writer of the connection. It batches whatever is
// queued into one writev, each flush bounded by the write deadline.
func (p *Peer) writeLoop(timeout time.Duration) {
	bufs := make(net.Buffers, 0, maxBatch)
	for {
		select {
		case <-p.done:
			return
		case b := <-p.queue:
			bufs = append(bufs[:0], b)
		drain:
			for len(bufs) < maxBatch {
				select {
				case b := <-p.queue:
					bufs = append(bufs, b)
				default:
					break drain
				}
			}
			if err := p.nc.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
				p.closeWith(fmt.Errorf("transport: set write deadline: %w", err))
				return
			}
			// WriteTo consumes w (re-slicing its elements in bufs'
			// backing array); the bytes of the shared broadcast
			// buffers are never modified.
			w := bufs
			if _, err := w.WriteTo(p.nc); err != nil {
				select {
				case <-p.done:
					return // closed by someone else, who counted why
				default:
				}
				p.hub.stats.writeErrors.Add(1)
				p.closeWith(fmt.Errorf("%w: to %s: %w", errWrite, p.remote, err))
				return
			}
			p.unsent.Add(-int64(len(bufs)))
			clear(bufs) // drop references to sent buffers
		}
	}
}

// readLoop reads messages until the connection fails and hands each to
// handle. Commands common to both ports (PING) are answered here.
func (p *Peer) readLoop(lim Limits, handle func(message) error) error {
	r := bufio.NewReaderSize(p.nc, 4<<10) // large frames bypass the buffer
	for {
		msg, err := readMessage(r, lim)
		if err != nil {
			return err
		}
		if msg.command {
			name, data, err := parseCommand(msg.frames[0])
			if err != nil {
				return err
			}
			if name == cmdPing {
				if err := p.enqueue(pongFor(data)); err != nil {
					return err
				}
				continue
			}
			if name == cmdError {
				return fmt.Errorf("%w: peer sent ERROR %q", ErrProtocol, data)
			}
		}
		if err := handle(msg); err != nil {
			return err
		}
	}
}
