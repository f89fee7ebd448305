package session

import (
	"encoding/binary"
	"fmt"

	"github.com/brine-project/brine/pkg/crypto"
	"github.com/brine-project/brine/pkg/proto"
)

// A key update hands an authenticated minion the current publish session key
// directly, sealed with that minion's own request key, so that after a
// rotation the minions that stay accepted keep reading publishes at once
// instead of missing them until their jittered re-auth. The re-auth notice
// still follows for any minion the update did not reach.
//
// Wire form: a proto.ReplyEnvelope (KeyID = the request key generation)
// whose sealed plaintext is generation (8 bytes) | key (32) | timestamp (8),
// under associated data of its own ("keyupdate") so that it cannot pass for
// a reply, nor a reply for it.
const keyUpdateLen = 8 + 32 + 8

// SessionKeyUpdates seals the current session key for every minion that
// holds a request key (call it right after Rotate: minions whose key is no
// longer accepted were forgotten there and get none).
func (a *Authority) SessionKeyUpdates() map[string][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.cfg.Now().UnixNano()
	out := make(map[string][]byte, len(a.minions))
	for id, st := range a.minions {
		if st.cur == nil {
			continue
		}
		pt := make([]byte, 0, keyUpdateLen)
		pt = binary.BigEndian.AppendUint64(pt, a.sessionGen)
		pt = append(pt, a.sessionKey[:]...)
		pt = binary.BigEndian.AppendUint64(pt, uint64(now))
		env := &proto.ReplyEnvelope{KeyID: st.cur.id, Sealed: crypto.Seal(st.cur.key, pt, requestAD("keyupdate", id, st.cur.id))}
		out[id] = proto.Encode(env)
	}
	return out
}

// HandleKeyUpdate installs a session key the master sent to this minion
// alone. It returns whether the key was new; an older or current
// generation is ignored (a replayed update cannot roll the key back).
func (c *Client) HandleKeyUpdate(data []byte) (bool, error) {
	env, err := proto.DecodeReplyEnvelope(data)
	if err != nil {
		c.count(&c.stats.Malformed)
		return false, fmt.Errorf("%w: key update: %w", ErrMalformed, err)
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
		c.count(&c.stats.UnknownKey)
		return false, fmt.Errorf("%w: key update under request key %d", ErrUnknownKey, env.KeyID)
	}
	pt, err := crypto.Open(key, env.Sealed, requestAD("keyupdate", c.cfg.ID, env.KeyID))
	if err != nil || len(pt) != keyUpdateLen {
		c.count(&c.stats.Undecryptable)
		return false, fmt.Errorf("%w: key update", ErrUndecryptable)
	}
	gen := binary.BigEndian.Uint64(pt[:8])
	if !fresh(c.cfg.Now(), int64(binary.BigEndian.Uint64(pt[40:])), c.cfg.Window) {
		c.count(&c.stats.Stale)
		return false, fmt.Errorf("%w: key update", ErrStale)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sessionKeys[0].key != nil && gen <= c.sessionKeys[0].id {
		return false, nil
	}
	k := new([32]byte)
	copy(k[:], pt[8:40])
	c.sessionKeys[1], c.sessionKeys[0] = c.sessionKeys[0], genKey{gen, k}
	return true, nil
}
