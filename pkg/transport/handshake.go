package transport

import (
	"fmt"
	"net"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"
)

// greetingLen is the size of the ZMTP 3 greeting that precedes all frames.
const greetingLen = 64

// maxHandshakeFrame bounds the frames of the handshake (the READY command
// and its metadata). Real peers send well under 1 KiB.
const maxHandshakeFrame = 64 << 10

// handshake runs the ZMTP greeting and NULL READY exchange through zmq4.Open
// and returns the peer's metadata. zmq4 allocates whatever length a frame
// header announces, so the connection is wrapped in a guard that parses the
// byte stream alongside it and fails the read before an oversized header
// reaches zmq4. The deadline bounds peers that connect and stay silent.
func handshake(nc net.Conn, typ zmq4.SocketType, identity string, server bool, timeout time.Duration) (zmq4.Metadata, error) {
	if err := nc.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, fmt.Errorf("transport: handshake deadline: %w", err)
	}
	g := &guardConn{Conn: nc, limit: maxHandshakeFrame}
	zc, err := zmq4.Open(g, null.Security(), typ, zmq4.SocketIdentity(identity), server, nil)
	if err != nil {
		return nil, fmt.Errorf("transport: handshake with %s: %w", nc.RemoteAddr(), err)
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("transport: clear handshake deadline: %w", err)
	}
	return zc.Peer.Meta, nil
}

// guardConn follows the ZMTP framing of the bytes read through it and
// refuses a frame whose announced size exceeds limit. It only guards reads;
// writes go straight to the connection.
type guardConn struct {
	net.Conn
	limit uint64
	st    guardState
}

// guardState is the parser state of guardConn, kept apart so it can be
// fuzzed without a connection.
type guardState struct {
	greeting int    // greeting bytes still to skip
	started  bool   // greeting counter initialised
	sizeLeft int    // size bytes still to read for the current header (0: expecting flags)
	sizeBuf  uint64 // size accumulated so far
	body     uint64 // body bytes still to skip
}

func (g *guardConn) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	if n > 0 {
		if perr := g.st.feed(p[:n], g.limit); perr != nil {
			// Return no bytes: io.ReadFull drops an error that comes
			// with a full buffer, and zmq4 must not see this header.
			return 0, perr
		}
	}
	return n, err
}

// feed advances the parser over b and reports a frame larger than limit.
func (s *guardState) feed(b []byte, limit uint64) error {
	if !s.started {
		s.started, s.greeting = true, greetingLen
	}
	for len(b) > 0 {
		switch {
		case s.greeting > 0:
			k := min(s.greeting, len(b))
			s.greeting -= k
			b = b[k:]
		case s.body > 0:
			k := min(s.body, uint64(len(b)))
			s.body -= k
			b = b[k:]
		case s.sizeLeft > 0:
			s.sizeBuf = s.sizeBuf<<8 | uint64(b[0])
			s.sizeLeft--
			b = b[1:]
			if s.sizeLeft == 0 {
				if s.sizeBuf > limit {
					return fmt.Errorf("%w: handshake frame of %d bytes exceeds %d", ErrProtocol, s.sizeBuf, limit)
				}
				s.body = s.sizeBuf
			}
		default: // flags byte of a new frame
			if b[0]&flagLong != 0 {
				s.sizeLeft = 8
			} else {
				s.sizeLeft = 1
			}
			s.sizeBuf = 0
			b = b[1:]
		}
	}
	return nil
}
