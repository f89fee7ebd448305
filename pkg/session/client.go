package session

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/brine-project/brine/pkg/crypto"
	"github.com/brine-project/brine/pkg/proto"
)

// maxJitter caps the re-auth delay a notice can ask for.
const maxJitter = 10 * time.Minute

// PinFile is the name of the pinned master key in a minion's pki dir.
const PinFile = "minion_master.pub"

// ClientConfig configures the minion side.
type ClientConfig struct {
	ID   string
	Keys *crypto.KeyPair
	// PKIDir holds the pinned master key (PinFile); empty pins in memory only.
	PKIDir string
	// MasterFinger, if set, is the only master fingerprint accepted.
	MasterFinger string
	// Window is the timestamp tolerance for publishes and replies; default
	// DefaultWindow.
	Window time.Duration
	// ReplayMemory bounds the publish message ids remembered; default 16384.
	ReplayMemory int
	Logger       *slog.Logger     // nil discards
	Now          func() time.Time // nil means time.Now
}

// Stats counts publishes and notices opened and dropped, by reason.
// Tampering with any signed field shows as BadSignature.
type Stats struct {
	Opened        uint64
	Malformed     uint64 // not a valid message of the expected type
	Unsigned      uint64
	BadSignature  uint64 // wrong key or tampered
	Stale         uint64 // timestamp outside the window
	Replayed      uint64 // message id (or notice) seen before
	UnknownKey    uint64 // not authenticated, or a session key generation we do not hold
	Undecryptable uint64 // signed by the master but does not open with our key
}

// Client is the minion's side of the protocol.
type Client struct {
	cfg ClientConfig
	log *slog.Logger

	mu          sync.Mutex // guards everything below
	master      *crypto.PublicKeys
	hello       *[proto.NonceSize]byte // nonce of the outstanding hello
	sessionKeys [2]genKey              // current, previous
	reqKey      genKey                 // current request key
	prevReqKey  genKey                 // previous, for replies in flight
	reqSeq      uint64
	seen        *idCache
	lastNotice  int64
	publishPort int
	stats       Stats
}

type genKey struct {
	id  uint64
	key *[32]byte
}

// NewClient returns a minion-side Client, loading a pinned master key from
// cfg.PKIDir if one exists.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Keys == nil || cfg.ID == "" {
		return nil, errors.New("session: client needs ID and Keys")
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.ReplayMemory <= 0 {
		cfg.ReplayMemory = 16384
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, log: log, seen: newIDCache(cfg.ReplayMemory)}
	if cfg.PKIDir != "" {
		data, err := os.ReadFile(filepath.Join(cfg.PKIDir, PinFile))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("session: %w", err)
		default:
			pub, err := crypto.ParsePublicKeys(data)
			if err != nil {
				return nil, fmt.Errorf("session: pinned master key: %w", err)
			}
			if cfg.MasterFinger != "" && !crypto.FingerprintsEqual(pub.Fingerprint(), cfg.MasterFinger) {
				return nil, fmt.Errorf("%w: pinned key %s", ErrMasterFinger, pub.Fingerprint())
			}
			c.master = &pub
		}
	}
	return c, nil
}

// MasterKeys returns the master's pinned public keys, if known.
func (c *Client) MasterKeys() (crypto.PublicKeys, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.master == nil {
		return crypto.PublicKeys{}, false
	}
	return *c.master, true
}

// SessionKeyID returns the generation of the session key held (0: none).
func (c *Client) SessionKeyID() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionKeys[0].id
}

// PublishPort returns the publish port the master announced in its last
// accepting reply (0 before).
func (c *Client) PublishPort() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.publishPort
}

// Stats returns the publish counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Hello returns a new signed auth request; only the reply to the latest
// hello is accepted.
func (c *Client) Hello() ([]byte, error) {
	nonce, err := newNonce()
	if err != nil {
		return nil, fmt.Errorf("session: nonce: %w", err)
	}
	m := &proto.AuthRequest{MinionID: c.cfg.ID, Keys: c.cfg.Keys.Public, Nonce: nonce, Timestamp: c.cfg.Now().UnixNano()}
	m.Signature = c.cfg.Keys.Sign(proto.SignedBytes(m))
	c.mu.Lock()
	c.hello = &nonce
	c.mu.Unlock()
	return proto.Encode(m), nil
}

// HandleAuthReply checks the master's reply to the latest hello, pins or
// checks the master's key, and installs the session and request keys when
// accepted. For any other status the keys held so far are dropped.
func (c *Client) HandleAuthReply(data []byte) (Status, error) {
	r, err := proto.DecodeAuthReply(data)
	if err != nil {
		return 0, fmt.Errorf("session: auth reply: %w", err)
	}
	if len(r.Signature) == 0 {
		return 0, ErrUnsigned
	}
	if !crypto.Verify(r.Master.Sign, proto.SignedBytes(r), r.Signature) {
		return 0, ErrBadSignature
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hello == nil || *c.hello != r.Nonce || r.MinionID != c.cfg.ID {
		return 0, ErrUnexpectedReply
	}
	if !fresh(c.cfg.Now(), r.Timestamp, c.cfg.Window) {
		return 0, fmt.Errorf("%w: auth reply", ErrStale)
	}
	if err := c.checkMasterLocked(r.Master); err != nil {
		return 0, err
	}
	c.hello = nil
	if r.Status != proto.StatusAccepted {
		c.sessionKeys = [2]genKey{}
		c.reqKey, c.prevReqKey = genKey{}, genKey{}
		return r.Status, nil
	}
	sk, err := c.cfg.Keys.OpenFrom(&r.Master.Box, r.SealedSessionKey)
	if err != nil || len(sk) != 32 {
		return 0, fmt.Errorf("%w: session key", ErrUndecryptable)
	}
	rk, err := c.cfg.Keys.OpenFrom(&r.Master.Box, r.SealedRequestKey)
	if err != nil || len(rk) != 32 {
		return 0, fmt.Errorf("%w: request key", ErrUndecryptable)
	}
	newSK := genKey{r.SessionKeyID, (*[32]byte)(sk)}
	switch {
	case c.sessionKeys[0].key == nil || c.sessionKeys[0].id != r.SessionKeyID:
		// Keep the previous generation for publishes still in flight.
		c.sessionKeys[1], c.sessionKeys[0] = c.sessionKeys[0], newSK
	case *c.sessionKeys[0].key != *newSK.key:
		// Same generation, other key: a different master process.
		c.sessionKeys = [2]genKey{newSK}
	}
	c.publishPort = int(r.PublishPort)
	c.prevReqKey = c.reqKey
	c.reqKey = genKey{r.RequestKeyID, (*[32]byte)(rk)}
	c.reqSeq = 0
	return r.Status, nil
}

// checkMasterLocked pins the master's keys on first contact and refuses
// any other master afterwards.
func (c *Client) checkMasterLocked(pub crypto.PublicKeys) error {
	if c.master != nil {
		if !c.master.Equal(pub) {
			return fmt.Errorf("%w: got %s, pinned %s", ErrMasterKey, pub.Fingerprint(), c.master.Fingerprint())
		}
		return nil
	}
	if c.cfg.MasterFinger != "" && !crypto.FingerprintsEqual(pub.Fingerprint(), c.cfg.MasterFinger) {
		return fmt.Errorf("%w: got %s", ErrMasterFinger, pub.Fingerprint())
	}
	if c.cfg.PKIDir != "" {
		if err := os.MkdirAll(c.cfg.PKIDir, 0o700); err != nil {
			return fmt.Errorf("session: pin master key: %w", err)
		}
		if err := crypto.WriteFileAtomic(filepath.Join(c.cfg.PKIDir, PinFile), crypto.MarshalPublicKeys(pub), 0o644); err != nil {
			return fmt.Errorf("session: pin master key: %w", err)
		}
	}
	c.log.Info("pinned master key", slog.String("fingerprint", pub.Fingerprint()))
	p := pub
	c.master = &p
	return nil
}

// OpenPublish verifies and opens one publish, returning its kind and body.
// Every refusal is counted in Stats and returned as an error wrapping one of
// ErrMalformed, ErrUnsigned, ErrBadSignature, ErrStale, ErrUnknownKey,
// ErrUndecryptable or ErrReplay.
func (c *Client) OpenPublish(data []byte) (kind string, body []byte, err error) {
	p, err := proto.DecodePublish(data)
	if err != nil {
		c.count(&c.stats.Malformed)
		return "", nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(p.Signature) == 0 {
		c.count(&c.stats.Unsigned)
		return "", nil, ErrUnsigned
	}
	master, ok := c.MasterKeys()
	if !ok {
		c.count(&c.stats.UnknownKey)
		return "", nil, fmt.Errorf("%w: no master key yet", ErrUnknownKey)
	}
	if !crypto.Verify(master.Sign, proto.SignedBytes(p), p.Signature) {
		c.count(&c.stats.BadSignature)
		return "", nil, ErrBadSignature
	}
	now := c.cfg.Now()
	if !fresh(now, p.Timestamp, c.cfg.Window) {
		c.count(&c.stats.Stale)
		return "", nil, fmt.Errorf("%w: publish %s", ErrStale, p.MessageID)
	}
	c.mu.Lock()
	var key *[32]byte
	for _, k := range c.sessionKeys {
		if k.key != nil && k.id == p.SessionKeyID {
			key = k.key
		}
	}
	c.mu.Unlock()
	if key == nil {
		c.count(&c.stats.UnknownKey)
		return "", nil, fmt.Errorf("%w: session key %d", ErrUnknownKey, p.SessionKeyID)
	}
	pt, err := crypto.Open(key, p.Ciphertext, publishAD(p.SessionKeyID, p.Timestamp, p.MessageID))
	if err != nil {
		c.count(&c.stats.Undecryptable)
		return "", nil, fmt.Errorf("%w: publish %s", ErrUndecryptable, p.MessageID)
	}
	payload, err := proto.DecodePublishPayload(pt)
	if err != nil {
		c.count(&c.stats.Malformed)
		return "", nil, fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.seen.add(p.MessageID, p.Timestamp, now.Add(-c.cfg.Window).UnixNano()) {
		c.stats.Replayed++
		return "", nil, fmt.Errorf("%w: publish %s", ErrReplay, p.MessageID)
	}
	c.stats.Opened++
	return payload.Kind, payload.Body, nil
}

func (c *Client) count(n *uint64) {
	c.mu.Lock()
	*n++
	c.mu.Unlock()
}

// HandleReAuth verifies a master's re-auth notice. needed is false when the
// client already holds the announced session key generation; otherwise the
// minion should send a new Hello after wait, a random delay within the
// notice's jitter window (so the fleet does not re-auth at once).
func (c *Client) HandleReAuth(data []byte) (wait time.Duration, needed bool, err error) {
	n, err := proto.DecodeReAuth(data)
	if err != nil {
		c.count(&c.stats.Malformed)
		return 0, false, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(n.Signature) == 0 {
		c.count(&c.stats.Unsigned)
		return 0, false, ErrUnsigned
	}
	master, ok := c.MasterKeys()
	if !ok {
		c.count(&c.stats.UnknownKey)
		return 0, false, fmt.Errorf("%w: no master key yet", ErrUnknownKey)
	}
	if !crypto.Verify(master.Sign, proto.SignedBytes(n), n.Signature) {
		c.count(&c.stats.BadSignature)
		return 0, false, ErrBadSignature
	}
	if !fresh(c.cfg.Now(), n.Timestamp, c.cfg.Window) {
		c.count(&c.stats.Stale)
		return 0, false, fmt.Errorf("%w: re-auth notice", ErrStale)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n.Timestamp <= c.lastNotice {
		c.stats.Replayed++
		return 0, false, fmt.Errorf("%w: re-auth notice", ErrReplay)
	}
	c.lastNotice = n.Timestamp
	if c.sessionKeys[0].key != nil && c.sessionKeys[0].id == n.SessionKeyID && c.reqKey.key != nil {
		return 0, false, nil
	}
	if j := min(n.Jitter, maxJitter); j > 0 {
		wait = rand.N(j)
	}
	return wait, true, nil
}

// SealRequest seals a request of kind with body under the request key,
// returning it and its id (which the master's Reply carries).
func (c *Client) SealRequest(kind string, body []byte) ([]byte, uint64, error) {
	if len(kind) > proto.MaxKindLen {
		return nil, 0, fmt.Errorf("session: kind %q too long", kind)
	}
	c.mu.Lock()
	rk := c.reqKey
	if rk.key == nil {
		c.mu.Unlock()
		return nil, 0, ErrNotAuthenticated
	}
	c.reqSeq++
	id := c.reqSeq
	c.mu.Unlock()
	req := &proto.Request{Kind: kind, ID: id, Timestamp: c.cfg.Now().UnixNano(), Body: body}
	env := &proto.RequestEnvelope{
		MinionID: c.cfg.ID,
		KeyID:    rk.id,
		Sealed:   crypto.Seal(rk.key, proto.Encode(req), requestAD("request", c.cfg.ID, rk.id)),
	}
	out := proto.Encode(env)
	if len(out) > proto.MaxSize {
		return nil, 0, fmt.Errorf("%w: request of %d bytes", proto.ErrTooLarge, len(out))
	}
	return out, id, nil
}

// OpenReply opens a reply the master sealed for this minion.
func (c *Client) OpenReply(data []byte) (*proto.Reply, error) {
	env, err := proto.DecodeReplyEnvelope(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	c.mu.Lock()
	var key *[32]byte
	for _, k := range []genKey{c.reqKey, c.prevReqKey} {
		if k.key != nil && k.id == env.KeyID {
			key = k.key
		}
	}
	c.mu.Unlock()
	if key == nil {
		return nil, fmt.Errorf("%w: request key %d", ErrUnknownKey, env.KeyID)
	}
	pt, err := crypto.Open(key, env.Sealed, requestAD("reply", c.cfg.ID, env.KeyID))
	if err != nil {
		return nil, fmt.Errorf("%w: reply", ErrUndecryptable)
	}
	r, err := proto.DecodeReply(pt)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return r, nil
}
