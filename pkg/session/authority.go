package session

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brine-project/brine/pkg/crypto"
	"github.com/brine-project/brine/pkg/keys"
	"github.com/brine-project/brine/pkg/proto"
)

// AuthorityConfig configures the master side.
type AuthorityConfig struct {
	Keys         *crypto.KeyPair // the master's key pair
	Store        keys.Store
	PublishPort  int              // told to minions in the auth reply
	Window       time.Duration    // timestamp tolerance; default DefaultWindow
	ReAuthJitter time.Duration    // re-auth spread after a rotation; default DefaultReAuthJitter
	Logger       *slog.Logger     // nil discards
	Now          func() time.Time // nil means time.Now
}

// Authority is the master's side of the protocol: it answers hellos,
// seals and signs publishes, opens requests and seals replies.
type Authority struct {
	cfg AuthorityConfig
	log *slog.Logger

	msgSeq atomic.Uint64 // publish message id counter

	mu         sync.Mutex // guards everything below
	sessionKey *[32]byte
	sessionGen uint64
	nextReqKey uint64
	minions    map[string]*minionState
	// epoch counts rotations. An auth grants keys only if no rotation
	// started since its key store decision, otherwise it decides again:
	// a key revoked during an auth cannot keep what that auth grants, and
	// no lock is held across key store calls.
	epoch uint64
}

// minionState is what the master holds for one authenticated minion.
type minionState struct {
	cur, prev *requestKey // prev keeps requests sealed before a re-auth valid
	nonces    []nonceSeen // recent hello nonces, refused if seen again
}

type requestKey struct {
	id  uint64
	key *[32]byte
	seq seqWindow // request ids seen under this key
}

type nonceSeen struct {
	nonce [proto.NonceSize]byte
	ts    int64
}

// maxNonces bounds the hello nonces remembered per minion.
const maxNonces = 32

// NewAuthority returns an Authority with a fresh session key.
func NewAuthority(cfg AuthorityConfig) (*Authority, error) {
	if cfg.Keys == nil || cfg.Store == nil {
		return nil, errors.New("session: authority needs Keys and Store")
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.ReAuthJitter <= 0 {
		cfg.ReAuthJitter = DefaultReAuthJitter
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Generations start from the clock, so that a restarted master never
	// reuses a generation number a minion still holds with another key.
	start := uint64(cfg.Now().UnixNano())
	return &Authority{
		cfg: cfg, log: log,
		sessionKey: crypto.NewSymmetricKey(), sessionGen: start,
		nextReqKey: start,
		minions:    make(map[string]*minionState),
	}, nil
}

// SessionKeyID returns the current session key generation.
func (a *Authority) SessionKeyID() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessionGen
}

// HandleAuth answers one hello. It returns an error, and no reply, for a
// hello that is malformed, badly signed, stale or replayed; otherwise the
// signed reply, whatever the key's state (pending, rejected and denied
// replies carry no keys). The key store records unknown keys and emits
// its events.
func (a *Authority) HandleAuth(req []byte) (reply []byte, minionID string, err error) {
	m, err := proto.DecodeAuthRequest(req)
	if err != nil {
		return nil, "", fmt.Errorf("session: auth request: %w", err)
	}
	if err := keys.ValidID(m.MinionID); err != nil {
		return nil, "", fmt.Errorf("session: auth request: %w", err)
	}
	if len(m.Signature) == 0 {
		return nil, m.MinionID, ErrUnsigned
	}
	if !crypto.Verify(m.Keys.Sign, proto.SignedBytes(m), m.Signature) {
		return nil, m.MinionID, ErrBadSignature
	}
	now := a.cfg.Now()
	if !fresh(now, m.Timestamp, a.cfg.Window) {
		return nil, m.MinionID, fmt.Errorf("%w: auth request from %s", ErrStale, m.MinionID)
	}
	if !a.rememberNonce(m.MinionID, m.Nonce, m.Timestamp, now) {
		return nil, m.MinionID, fmt.Errorf("%w: auth request from %s", ErrReplay, m.MinionID)
	}
	r := &proto.AuthReply{
		MinionID:    m.MinionID,
		Master:      a.cfg.Keys.Public,
		PublishPort: uint64(a.cfg.PublishPort),
		Nonce:       m.Nonce,
		Timestamp:   now.UnixNano(),
	}
	var state keys.State
	for {
		a.mu.Lock()
		epoch := a.epoch
		a.mu.Unlock()
		if state, err = a.cfg.Store.Decide(m.MinionID, m.Keys); err != nil {
			return nil, m.MinionID, fmt.Errorf("session: %w", err)
		}
		if state != keys.Accepted {
			break
		}
		granted, err := a.grant(r, m, epoch)
		if err != nil {
			return nil, m.MinionID, err
		}
		if granted {
			break
		}
	}
	switch state {
	case keys.Accepted:
		r.Status = proto.StatusAccepted
	case keys.Pending:
		r.Status, r.Reason = proto.StatusPending, "key is pending acceptance"
		a.forget(m.MinionID)
	case keys.Rejected:
		r.Status, r.Reason = proto.StatusRejected, "key rejected"
		a.forget(m.MinionID)
	default:
		// Denied: another key is known for this id. Keep whatever that
		// minion holds; this one gets nothing.
		r.Status, r.Reason = proto.StatusDenied, "a different key is registered for this id"
	}
	r.Signature = a.cfg.Keys.Sign(proto.SignedBytes(r))
	a.log.Debug("auth", slog.String("minion", m.MinionID), slog.String("status", r.Status.String()))
	return proto.Encode(r), m.MinionID, nil
}

// grant seals the current session key and a new request key to the
// minion, unless a rotation started after epoch (then it reports false).
func (a *Authority) grant(r *proto.AuthReply, m *proto.AuthRequest, epoch uint64) (bool, error) {
	reqKey := crypto.NewSymmetricKey()
	a.mu.Lock()
	if a.epoch != epoch {
		a.mu.Unlock()
		return false, nil
	}
	sk, gen := a.sessionKey, a.sessionGen
	a.nextReqKey++
	rk := &requestKey{id: a.nextReqKey, key: reqKey}
	st := a.minionLocked(m.MinionID)
	st.prev, st.cur = st.cur, rk
	a.mu.Unlock()

	sealedSK, err := a.cfg.Keys.SealTo(&m.Keys.Box, sk[:])
	if err != nil {
		return false, err
	}
	sealedRK, err := a.cfg.Keys.SealTo(&m.Keys.Box, reqKey[:])
	if err != nil {
		return false, err
	}
	r.SessionKeyID, r.SealedSessionKey = gen, sealedSK
	r.RequestKeyID, r.SealedRequestKey = rk.id, sealedRK
	return true, nil
}

func (a *Authority) minionLocked(id string) *minionState {
	st := a.minions[id]
	if st == nil {
		st = &minionState{}
		a.minions[id] = st
	}
	return st
}

// rememberNonce records a hello nonce, reporting false if it was seen.
func (a *Authority) rememberNonce(id string, nonce [proto.NonceSize]byte, ts int64, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.minionLocked(id)
	expired := now.Add(-a.cfg.Window).UnixNano()
	kept := st.nonces[:0]
	for _, n := range st.nonces {
		if n.nonce == nonce {
			return false
		}
		if n.ts >= expired {
			kept = append(kept, n)
		}
	}
	st.nonces = kept
	if len(st.nonces) >= maxNonces {
		st.nonces = st.nonces[1:]
	}
	st.nonces = append(st.nonces, nonceSeen{nonce, ts})
	return true
}

// forget drops a minion's request keys: it can no longer send requests.
func (a *Authority) forget(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st := a.minions[id]; st != nil {
		st.cur, st.prev = nil, nil
	}
}

// Authenticated reports whether id currently holds a request key.
func (a *Authority) Authenticated(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.minions[id]
	return st != nil && st.cur != nil
}

// SealPublish seals kind and body with the session key under a new message
// id and signs the envelope.
func (a *Authority) SealPublish(kind string, body []byte) ([]byte, error) {
	now := a.cfg.Now()
	id := strconv.FormatInt(now.UnixNano(), 10) + "-" + strconv.FormatUint(a.msgSeq.Add(1), 10)
	return a.SealPublishID(id, kind, body)
}

// SealPublishID is SealPublish with the caller's message id (a JID), which
// must be unique: minions drop a second publish with the same id.
func (a *Authority) SealPublishID(msgID, kind string, body []byte) ([]byte, error) {
	if len(msgID) == 0 || len(msgID) > proto.MaxMsgIDLen {
		return nil, fmt.Errorf("session: message id length %d", len(msgID))
	}
	if len(kind) > proto.MaxKindLen {
		return nil, fmt.Errorf("session: kind %q too long", kind)
	}
	a.mu.Lock()
	sk, gen := a.sessionKey, a.sessionGen
	a.mu.Unlock()
	ts := a.cfg.Now().UnixNano()
	pt := proto.Encode(&proto.PublishPayload{Kind: kind, Body: body})
	p := &proto.Publish{
		SessionKeyID: gen,
		Timestamp:    ts,
		MessageID:    msgID,
		Ciphertext:   crypto.Seal(sk, pt, publishAD(gen, ts, msgID)),
	}
	p.Signature = a.cfg.Keys.Sign(proto.SignedBytes(p))
	out := proto.Encode(p)
	if len(out) > proto.MaxSize {
		return nil, fmt.Errorf("%w: publish of %d bytes", proto.ErrTooLarge, len(out))
	}
	return out, nil
}

// Rotate makes a new session key, drops the request keys of minions whose
// key is no longer accepted, and returns a signed re-auth notice to publish.
// Call it after a key is rejected or deleted, and on an interval. It holds
// no lock while it reads the key store, so it may be called from a key
// store event callback.
func (a *Authority) Rotate(reason string) []byte {
	a.mu.Lock()
	a.epoch++
	a.sessionKey = crypto.NewSymmetricKey()
	a.sessionGen++
	gen := a.sessionGen
	ids := make([]string, 0, len(a.minions))
	for id, st := range a.minions {
		if st.cur != nil || st.prev != nil {
			ids = append(ids, id)
		}
	}
	a.mu.Unlock()

	// Store reads happen outside the lock: they touch the disk.
	for _, id := range ids {
		k, err := a.cfg.Store.Get(id)
		if err != nil || k.State != keys.Accepted {
			a.forget(id)
		}
	}
	a.log.Info("session key rotated", slog.Uint64("generation", gen), slog.String("reason", reason))
	return a.notice(reason, gen)
}

// Notice returns a signed re-auth notice without rotating, for a minion
// whose request the master cannot open (e.g. after a master restart).
func (a *Authority) Notice(reason string) []byte {
	return a.notice(reason, a.SessionKeyID())
}

func (a *Authority) notice(reason string, gen uint64) []byte {
	if len(reason) > proto.MaxReasonLen {
		reason = reason[:proto.MaxReasonLen]
	}
	n := &proto.ReAuth{Reason: reason, Jitter: a.cfg.ReAuthJitter, SessionKeyID: gen, Timestamp: a.cfg.Now().UnixNano()}
	n.Signature = a.cfg.Keys.Sign(proto.SignedBytes(n))
	return proto.Encode(n)
}

// OpenRequest opens a minion's sealed request. ErrUnknownMinion means the
// sender holds no valid request key: answer it with Notice.
func (a *Authority) OpenRequest(data []byte) (string, *proto.Request, error) {
	env, err := proto.DecodeRequestEnvelope(data)
	if err != nil {
		return "", nil, fmt.Errorf("session: request: %w", err)
	}
	id := env.MinionID
	a.mu.Lock()
	rk := a.requestKeyLocked(id, env.KeyID)
	a.mu.Unlock()
	if rk == nil {
		return id, nil, fmt.Errorf("%w: %s key %d", ErrUnknownMinion, id, env.KeyID)
	}
	pt, err := crypto.Open(rk.key, env.Sealed, requestAD("request", id, env.KeyID))
	if err != nil {
		return id, nil, fmt.Errorf("%w: request from %s: %w", ErrUndecryptable, id, err)
	}
	req, err := proto.DecodeRequest(pt)
	if err != nil {
		return id, nil, fmt.Errorf("session: request from %s: %w", id, err)
	}
	if !fresh(a.cfg.Now(), req.Timestamp, a.cfg.Window) {
		return id, nil, fmt.Errorf("%w: request %d from %s", ErrStale, req.ID, id)
	}
	a.mu.Lock()
	ok := rk.seq.accept(req.ID)
	a.mu.Unlock()
	if !ok {
		return id, nil, fmt.Errorf("%w: request %d from %s", ErrReplay, req.ID, id)
	}
	return id, req, nil
}

func (a *Authority) requestKeyLocked(id string, keyID uint64) *requestKey {
	st := a.minions[id]
	if st == nil {
		return nil
	}
	for _, k := range []*requestKey{st.cur, st.prev} {
		if k != nil && k.id == keyID {
			return k
		}
	}
	return nil
}

// SealReply seals r for minionID with its current request key.
func (a *Authority) SealReply(minionID string, r proto.Reply) ([]byte, error) {
	a.mu.Lock()
	var rk *requestKey
	if st := a.minions[minionID]; st != nil {
		rk = st.cur
	}
	a.mu.Unlock()
	if rk == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownMinion, minionID)
	}
	env := &proto.ReplyEnvelope{
		KeyID:  rk.id,
		Sealed: crypto.Seal(rk.key, proto.Encode(&r), requestAD("reply", minionID, rk.id)),
	}
	return proto.Encode(env), nil
}

// newNonce returns a random hello nonce.
func newNonce() ([proto.NonceSize]byte, error) {
	var n [proto.NonceSize]byte
	_, err := rand.Read(n[:])
	return n, err
}
