package proto

import (
	"time"

	"github.com/brine-project/brine/pkg/crypto"
)

// NonceSize is the size of an auth nonce.
const NonceSize = 16

// AuthRequest is a minion's signed hello on the request port.
type AuthRequest struct {
	MinionID  string
	Keys      crypto.PublicKeys // the minion's public keys
	Nonce     [NonceSize]byte   // echoed in the reply, so old replies cannot be replayed
	Timestamp int64             // unix nanoseconds
	Signature []byte            // Ed25519 by Keys.Sign over SignedBytes
}

// Type implements Message.
func (*AuthRequest) Type() Type { return TypeAuthRequest }

func (m *AuthRequest) fields(c *codec) {
	c.str(&m.MinionID, MaxIDLen, "minion id")
	c.keys(&m.Keys, "minion keys")
	c.fixed(m.Nonce[:], "nonce")
	c.i64(&m.Timestamp, "timestamp")
	c.sig(&m.Signature)
}

// DecodeAuthRequest decodes an AuthRequest.
func DecodeAuthRequest(data []byte) (*AuthRequest, error) { return decodeAs[AuthRequest](data) }

// AuthStatus is the master's decision on a minion's key.
type AuthStatus uint8

// Auth statuses.
const (
	StatusAccepted AuthStatus = 1
	StatusPending  AuthStatus = 2
	StatusRejected AuthStatus = 3
	StatusDenied   AuthStatus = 4
)

func (s AuthStatus) String() string {
	switch s {
	case StatusAccepted:
		return "accepted"
	case StatusPending:
		return "pending"
	case StatusRejected:
		return "rejected"
	case StatusDenied:
		return "denied"
	}
	return "unknown"
}

// AuthReply is the master's signed answer to an AuthRequest. The keys are
// only present when Status is StatusAccepted.
type AuthReply struct {
	Status           AuthStatus
	MinionID         string
	Master           crypto.PublicKeys
	SessionKeyID     uint64 // generation of the publish session key
	SealedSessionKey []byte // NaCl box from Master.Box to the minion
	RequestKeyID     uint64 // generation of this minion's request key
	SealedRequestKey []byte // NaCl box from Master.Box to the minion
	PublishPort      uint64
	Nonce            [NonceSize]byte // the request's nonce
	Timestamp        int64
	Reason           string
	Signature        []byte // Ed25519 by Master.Sign over SignedBytes
}

// Type implements Message.
func (*AuthReply) Type() Type { return TypeAuthReply }

func (m *AuthReply) fields(c *codec) {
	c.u8((*uint8)(&m.Status), "status")
	c.str(&m.MinionID, MaxIDLen, "minion id")
	c.keys(&m.Master, "master keys")
	c.u64(&m.SessionKeyID, "session key id")
	c.bytes(&m.SealedSessionKey, 256, "sealed session key")
	c.u64(&m.RequestKeyID, "request key id")
	c.bytes(&m.SealedRequestKey, 256, "sealed request key")
	c.u64(&m.PublishPort, "publish port")
	c.fixed(m.Nonce[:], "nonce")
	c.i64(&m.Timestamp, "timestamp")
	c.str(&m.Reason, MaxReasonLen, "reason")
	c.sig(&m.Signature)
}

// DecodeAuthReply decodes an AuthReply.
func DecodeAuthReply(data []byte) (*AuthReply, error) { return decodeAs[AuthReply](data) }

// Publish is the envelope of everything the master publishes: a sealed
// PublishPayload, signed by the master over all fields.
type Publish struct {
	SessionKeyID uint64
	Timestamp    int64
	MessageID    string // unique per publish (the JID for jobs); replay detection key
	Ciphertext   []byte // crypto.Seal(session key, PublishPayload, PublishAD(...))
	Signature    []byte
}

// Type implements Message.
func (*Publish) Type() Type { return TypePublish }

func (m *Publish) fields(c *codec) {
	c.u64(&m.SessionKeyID, "session key id")
	c.i64(&m.Timestamp, "timestamp")
	c.str(&m.MessageID, MaxMsgIDLen, "message id")
	c.bytes(&m.Ciphertext, MaxSize, "ciphertext")
	c.sig(&m.Signature)
}

// DecodePublish decodes a Publish envelope.
func DecodePublish(data []byte) (*Publish, error) { return decodeAs[Publish](data) }

// PublishPayload is the plaintext inside a Publish.
type PublishPayload struct {
	Kind string // "job", "ping", ...
	Body []byte // opaque to this package
}

// Type implements Message.
func (*PublishPayload) Type() Type { return TypePublishPayload }

func (m *PublishPayload) fields(c *codec) {
	c.str(&m.Kind, MaxKindLen, "kind")
	c.bytes(&m.Body, MaxSize, "body")
}

// DecodePublishPayload decodes a PublishPayload.
func DecodePublishPayload(data []byte) (*PublishPayload, error) {
	return decodeAs[PublishPayload](data)
}

// RequestEnvelope carries a sealed Request from an authenticated minion.
type RequestEnvelope struct {
	MinionID string
	KeyID    uint64 // which of the minion's request keys sealed it
	Sealed   []byte // crypto.Seal(request key, Request, ...)
}

// Type implements Message.
func (*RequestEnvelope) Type() Type { return TypeRequestEnvelope }

func (m *RequestEnvelope) fields(c *codec) {
	c.str(&m.MinionID, MaxIDLen, "minion id")
	c.u64(&m.KeyID, "key id")
	c.bytes(&m.Sealed, MaxSize, "sealed")
}

// DecodeRequestEnvelope decodes a RequestEnvelope.
func DecodeRequestEnvelope(data []byte) (*RequestEnvelope, error) {
	return decodeAs[RequestEnvelope](data)
}

// Request kinds used by Brine; Kind is free text up to MaxKindLen.
const (
	KindReturn    = "return"
	KindPillar    = "pillar"
	KindFile      = "file"
	KindHeartbeat = "heartbeat"
)

// Request is the plaintext a minion sends the master after auth.
type Request struct {
	Kind      string
	ID        uint64 // per request key, increasing from 1; answered in Reply.ID
	Timestamp int64
	Body      []byte
}

// Type implements Message.
func (*Request) Type() Type { return TypeRequest }

func (m *Request) fields(c *codec) {
	c.str(&m.Kind, MaxKindLen, "kind")
	c.u64(&m.ID, "request id")
	c.i64(&m.Timestamp, "timestamp")
	c.bytes(&m.Body, MaxSize, "body")
}

// DecodeRequest decodes a Request.
func DecodeRequest(data []byte) (*Request, error) { return decodeAs[Request](data) }

// ReplyEnvelope carries a sealed Reply from the master on the request port.
type ReplyEnvelope struct {
	KeyID  uint64
	Sealed []byte
}

// Type implements Message.
func (*ReplyEnvelope) Type() Type { return TypeReplyEnvelope }

func (m *ReplyEnvelope) fields(c *codec) {
	c.u64(&m.KeyID, "key id")
	c.bytes(&m.Sealed, MaxSize, "sealed")
}

// DecodeReplyEnvelope decodes a ReplyEnvelope.
func DecodeReplyEnvelope(data []byte) (*ReplyEnvelope, error) {
	return decodeAs[ReplyEnvelope](data)
}

// ReplyStatus says how the master handled a request.
type ReplyStatus uint8

// Reply statuses.
const (
	ReplyOK       ReplyStatus = 0
	ReplyError    ReplyStatus = 1
	ReplyNotFound ReplyStatus = 2
	ReplyDenied   ReplyStatus = 3
)

// Reply is the plaintext answer to a Request.
type Reply struct {
	ID     uint64 // the Request.ID answered
	Status ReplyStatus
	Body   []byte
}

// Type implements Message.
func (*Reply) Type() Type { return TypeReply }

func (m *Reply) fields(c *codec) {
	c.u64(&m.ID, "request id")
	c.u8((*uint8)(&m.Status), "status")
	c.bytes(&m.Body, MaxSize, "body")
}

// DecodeReply decodes a Reply.
func DecodeReply(data []byte) (*Reply, error) { return decodeAs[Reply](data) }

// ReAuth tells minions to authenticate again within Jitter (each picks a
// random delay), because the session key changed. Signed, not encrypted:
// minions that lost their key must still be able to read it.
type ReAuth struct {
	Reason       string
	Jitter       time.Duration
	SessionKeyID uint64 // the new generation
	Timestamp    int64
	Signature    []byte
}

// Type implements Message.
func (*ReAuth) Type() Type { return TypeReAuth }

func (m *ReAuth) fields(c *codec) {
	c.str(&m.Reason, MaxReasonLen, "reason")
	c.i64((*int64)(&m.Jitter), "jitter")
	c.u64(&m.SessionKeyID, "session key id")
	c.i64(&m.Timestamp, "timestamp")
	c.sig(&m.Signature)
}

// DecodeReAuth decodes a ReAuth notice.
func DecodeReAuth(data []byte) (*ReAuth, error) { return decodeAs[ReAuth](data) }

// Heartbeat is a liveness beat, carried as the body of a Request of kind
// KindHeartbeat (minion to master) or a Publish of that kind.
type Heartbeat struct {
	Timestamp int64
	Seq       uint64
}

// Type implements Message.
func (*Heartbeat) Type() Type { return TypeHeartbeat }

func (m *Heartbeat) fields(c *codec) {
	c.i64(&m.Timestamp, "timestamp")
	c.u64(&m.Seq, "seq")
}

// DecodeHeartbeat decodes a Heartbeat.
func DecodeHeartbeat(data []byte) (*Heartbeat, error) { return decodeAs[Heartbeat](data) }

// SignedBytes returns the bytes a signature over m covers: m's encoding
// with an empty signature. Only for messages with a Signature field.
func SignedBytes(m Message) []byte {
	switch v := m.(type) {
	case *AuthRequest:
		c := *v
		c.Signature = nil
		return Encode(&c)
	case *AuthReply:
		c := *v
		c.Signature = nil
		return Encode(&c)
	case *Publish:
		c := *v
		c.Signature = nil
		return Encode(&c)
	case *ReAuth:
		c := *v
		c.Signature = nil
		return Encode(&c)
	}
	return Encode(m)
}
