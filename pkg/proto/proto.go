// Package proto defines Brine's wire messages and their one encoding.
//
// Every message is "BR", a version byte (1), a type byte, then the message's
// fields in a fixed order: unsigned integers as minimal varints, timestamps
// as 8-byte big-endian unix nanoseconds, byte strings and text as a varint
// length and the bytes, keys as fixed 64 bytes (Ed25519 then X25519),
// signatures as empty (unsigned) or 64 bytes. There are no optional fields
// and no trailing bytes, so every message has exactly one encoding: a
// signature made over [SignedBytes] of a message verifies on the receiver's
// re-encoding of what it decoded.
//
// What the package promises: every decoder returns an error wrapping one of
// [ErrMalformed], [ErrTooLarge], [ErrVersion] or [ErrType] for bad input
// (oversized, truncated, trailing bytes, unknown version or type, field over
// its limit, invalid UTF-8) and never panics; decoded messages never alias
// the caller's buffer. It does not encrypt or sign: pkg/session does, with
// pkg/crypto.
package proto

import (
	"errors"
	"fmt"
	"sync"
)

// Version is the only wire version this package speaks.
const Version = 1

// MaxSize bounds every encoded message (16 MiB); decoders refuse larger input.
const MaxSize = 16 << 20

// Field limits: large enough for any legitimate use, small enough that a
// hostile peer cannot make a field the whole MaxSize.
const (
	MaxIDLen     = 255  // minion ids
	MaxKindLen   = 64   // publish and request kinds
	MaxMsgIDLen  = 128  // publish message ids (JIDs)
	MaxReasonLen = 1024 // human-readable reasons
)

const headerLen = 4

// Errors wrapped by every decoder.
var (
	ErrMalformed = errors.New("proto: malformed message")
	ErrTooLarge  = errors.New("proto: message too large")
	ErrVersion   = errors.New("proto: unsupported version")
	ErrType      = errors.New("proto: unexpected message type")
)

// Type identifies a message on the wire.
type Type uint8

// Message types. Inner types (PublishPayload, Request, Reply) only ever
// travel sealed inside their envelope.
const (
	TypeAuthRequest     Type = 1
	TypeAuthReply       Type = 2
	TypePublish         Type = 3
	TypePublishPayload  Type = 4
	TypeRequestEnvelope Type = 5
	TypeRequest         Type = 6
	TypeReplyEnvelope   Type = 7
	TypeReply           Type = 8
	TypeReAuth          Type = 9
	TypeHeartbeat       Type = 10
)

var typeNames = map[Type]string{
	TypeAuthRequest: "auth_request", TypeAuthReply: "auth_reply", TypePublish: "publish",
	TypePublishPayload: "publish_payload", TypeRequestEnvelope: "request_envelope",
	TypeRequest: "request", TypeReplyEnvelope: "reply_envelope", TypeReply: "reply",
	TypeReAuth: "reauth", TypeHeartbeat: "heartbeat",
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Message is implemented by every wire message.
type Message interface {
	Type() Type
	fields(c *codec)
}

// scratch recycles encoding buffers, so Encode allocates its result once
// instead of growing it field by field.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// Encode returns m's wire encoding.
func Encode(m Message) []byte {
	bp := scratch.Get().(*[]byte)
	b := AppendEncode((*bp)[:0], m)
	out := append([]byte(nil), b...)
	if cap(b) <= 1<<20 { // do not pin huge buffers
		*bp = b
		scratch.Put(bp)
	}
	return out
}

// AppendEncode appends m's wire encoding to dst.
func AppendEncode(dst []byte, m Message) []byte {
	c := codec{enc: true, buf: append(dst, 'B', 'R', Version, byte(m.Type()))}
	m.fields(&c)
	return c.buf
}

// PeekType checks the header of data and returns its type, without decoding
// the body.
func PeekType(data []byte) (Type, error) {
	if len(data) > MaxSize {
		return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxSize)
	}
	if len(data) < headerLen {
		return 0, fmt.Errorf("%w: %d bytes is shorter than a header", ErrMalformed, len(data))
	}
	if data[0] != 'B' || data[1] != 'R' {
		return 0, fmt.Errorf("%w: bad magic %q", ErrMalformed, data[:2])
	}
	if data[2] != Version {
		return 0, fmt.Errorf("%w: version %d, want %d", ErrVersion, data[2], Version)
	}
	t := Type(data[3])
	if _, ok := typeNames[t]; !ok {
		return 0, fmt.Errorf("%w: unknown type %d", ErrType, data[3])
	}
	return t, nil
}

// Decode decodes any message; use a type switch on the result.
func Decode(data []byte) (Message, error) {
	t, err := PeekType(data)
	if err != nil {
		return nil, err
	}
	var m Message
	switch t {
	case TypeAuthRequest:
		m = new(AuthRequest)
	case TypeAuthReply:
		m = new(AuthReply)
	case TypePublish:
		m = new(Publish)
	case TypePublishPayload:
		m = new(PublishPayload)
	case TypeRequestEnvelope:
		m = new(RequestEnvelope)
	case TypeRequest:
		m = new(Request)
	case TypeReplyEnvelope:
		m = new(ReplyEnvelope)
	case TypeReply:
		m = new(Reply)
	case TypeReAuth:
		m = new(ReAuth)
	case TypeHeartbeat:
		m = new(Heartbeat)
	}
	if err := decodeInto(data, m); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeInto decodes data into m, which must be of data's type.
func decodeInto(data []byte, m Message) error {
	t, err := PeekType(data)
	if err != nil {
		return err
	}
	if t != m.Type() {
		return fmt.Errorf("%w: got %s, want %s", ErrType, t, m.Type())
	}
	// One private copy, which decoded byte fields alias: callers may reuse
	// their buffer at once.
	body := append([]byte(nil), data[headerLen:]...)
	c := codec{buf: body}
	m.fields(&c)
	if c.err != nil {
		return fmt.Errorf("%s: %w", t, c.err)
	}
	if len(c.buf) != 0 {
		return fmt.Errorf("%w: %s: %d trailing bytes", ErrMalformed, t, len(c.buf))
	}
	return nil
}

// decodeAs is the typed decoder behind every DecodeXxx function.
func decodeAs[T any, P interface {
	*T
	Message
}](data []byte) (*T, error) {
	m := P(new(T))
	if err := decodeInto(data, m); err != nil {
		return nil, err
	}
	return (*T)(m), nil
}
