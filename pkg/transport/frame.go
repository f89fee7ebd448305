package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ZMTP 3.0 frame flags (RFC 23, "Framing").
const (
	flagMore    = 0x01
	flagLong    = 0x02
	flagCommand = 0x04
	flagsKnown  = flagMore | flagLong | flagCommand
)

// ZMTP command names we handle after the handshake. SUBSCRIBE and CANCEL are
// the ZMTP 3.1 forms of the 3.0 subscription messages; we greet as 3.0 so
// libzmq sends messages, but we accept both.
const (
	cmdPing      = "PING"
	cmdPong      = "PONG"
	cmdSubscribe = "SUBSCRIBE"
	cmdCancel    = "CANCEL"
	cmdError     = "ERROR"
)

// ErrProtocol is wrapped by every error caused by malformed or oversized
// input from a peer.
var ErrProtocol = errors.New("transport: protocol violation")

// Limits bounds what one peer can make us allocate. Zero fields take the
// defaults in [DefaultLimits].
type Limits struct {
	// MaxFrame is the largest single frame accepted, in bytes.
	MaxFrame int
	// MaxMessage is the largest sum of frame sizes in one message.
	MaxMessage int
	// MaxFrames is the largest number of frames in one message.
	MaxFrames int
}

// DefaultLimits are generous for jobs and returns (state runs with large
// file contents go through the file server in chunks, not in one message).
var DefaultLimits = Limits{MaxFrame: 32 << 20, MaxMessage: 64 << 20, MaxFrames: 64}

func (l Limits) withDefaults() Limits {
	if l.MaxFrame <= 0 {
		l.MaxFrame = DefaultLimits.MaxFrame
	}
	if l.MaxMessage <= 0 {
		l.MaxMessage = DefaultLimits.MaxMessage
	}
	if l.MaxFrames <= 0 {
		l.MaxFrames = DefaultLimits.MaxFrames
	}
	return l
}

// message is one ZMTP message as read from the wire: either data frames or a
// single command frame.
type message struct {
	frames  [][]byte
	command bool
}

// readMessage reads one complete message. Sizes are checked against lim
// before anything is allocated.
func readMessage(r *bufio.Reader, lim Limits) (message, error) {
	var (
		msg   message
		total int
		hdr   [8]byte
	)
	for {
		flags, err := r.ReadByte()
		if err != nil {
			if len(msg.frames) > 0 {
				return msg, noEOF(err)
			}
			return msg, err
		}
		if flags&^flagsKnown != 0 {
			return msg, fmt.Errorf("%w: reserved frame flag bits %#x", ErrProtocol, flags)
		}
		var size uint64
		if flags&flagLong != 0 {
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				return msg, noEOF(err)
			}
			size = binary.BigEndian.Uint64(hdr[:])
		} else {
			b, err := r.ReadByte()
			if err != nil {
				return msg, noEOF(err)
			}
			size = uint64(b)
		}
		isCmd := flags&flagCommand != 0
		switch {
		case isCmd && (len(msg.frames) > 0 || flags&flagMore != 0):
			return msg, fmt.Errorf("%w: command frame inside a multipart message", ErrProtocol)
		case size > uint64(lim.MaxFrame):
			return msg, fmt.Errorf("%w: frame of %d bytes exceeds limit %d", ErrProtocol, size, lim.MaxFrame)
		case total+int(size) > lim.MaxMessage:
			return msg, fmt.Errorf("%w: message exceeds %d bytes", ErrProtocol, lim.MaxMessage)
		case len(msg.frames) >= lim.MaxFrames:
			return msg, fmt.Errorf("%w: message exceeds %d frames", ErrProtocol, lim.MaxFrames)
		}
		total += int(size)
		body := make([]byte, size)
		if _, err := io.ReadFull(r, body); err != nil {
			return msg, noEOF(err)
		}
		msg.frames = append(msg.frames, body)
		msg.command = isCmd // a command is always a whole message (checked above)
		if flags&flagMore == 0 {
			return msg, nil
		}
	}
}

// noEOF turns an EOF in the middle of a message into ErrUnexpectedEOF: only
// an EOF between messages is a clean close.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// appendFrame appends one encoded frame to dst.
func appendFrame(dst []byte, flags byte, body []byte) []byte {
	if len(body) > 255 {
		dst = append(dst, flags|flagLong)
		dst = binary.BigEndian.AppendUint64(dst, uint64(len(body)))
	} else {
		dst = append(dst, flags, byte(len(body)))
	}
	return append(dst, body...)
}

// encodedSize is the exact encoded length of frames, so encodeMessage
// allocates once.
func encodedSize(frames [][]byte) int {
	n := 0
	for _, f := range frames {
		n += len(f) + 2
		if len(f) > 255 {
			n += 7
		}
	}
	return n
}

// encodeMessage encodes a data message. An empty message is sent as one
// empty frame, since ZMTP has no zero-frame messages.
func encodeMessage(frames [][]byte) []byte {
	if len(frames) == 0 {
		return []byte{0, 0}
	}
	dst := make([]byte, 0, encodedSize(frames))
	for i, f := range frames {
		var flags byte
		if i < len(frames)-1 {
			flags = flagMore
		}
		dst = appendFrame(dst, flags, f)
	}
	return dst
}

// encodeCommand encodes a command frame: name length, name, data.
func encodeCommand(name string, data []byte) []byte {
	body := make([]byte, 0, 1+len(name)+len(data))
	body = append(body, byte(len(name)))
	body = append(body, name...)
	body = append(body, data...)
	return appendFrame(nil, flagCommand, body)
}

// parseCommand splits a command frame body into its name and data.
func parseCommand(body []byte) (name string, data []byte, err error) {
	if len(body) == 0 || int(body[0]) > len(body)-1 || body[0] == 0 {
		return "", nil, fmt.Errorf("%w: malformed command frame", ErrProtocol)
	}
	n := int(body[0])
	return string(body[1 : 1+n]), body[1+n:], nil
}

// pongFor builds the PONG answering a PING: ZMTP 3.1 says the PONG carries
// the PING's context (the bytes after its 2-byte TTL).
func pongFor(data []byte) []byte {
	var ctx []byte
	if len(data) > 2 {
		ctx = data[2:]
	}
	return encodeCommand(cmdPong, ctx)
}
