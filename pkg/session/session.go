// Package session is Brine's authentication and message protection
// protocol, with no networking: the master's [Authority] and the minion's
// [Client] exchange byte slices that any transport carries.
//
// The protocol (see docs in DESIGN.md, "Crypto"):
//   - the minion's hello ([Client.Hello]) carries its id, public keys, a
//     nonce and a timestamp, signed by its Ed25519 key;
//   - the master's key store decides; the signed reply echoes the nonce and,
//     for an accepted key, carries the publish session key and a fresh
//     per-minion request key, both sealed to the minion with NaCl box;
//   - the minion pins the master's public keys on first contact (or checks
//     a configured fingerprint) and refuses any other master afterwards;
//   - publishes are sealed with the session key and signed by the master
//     over every field, so a minion holding the shared key cannot forge one;
//     minions drop unsigned, badly signed, stale and replayed publishes and
//     count each kind ([Client.Stats]);
//   - requests and replies are sealed with the minion's own request key and
//     numbered; the master refuses stale and replayed requests;
//   - [Authority.Rotate] makes a new session key and a signed re-auth
//     notice; a minion whose key is no longer accepted gets neither the new
//     session key nor, from then on, a working request key.
//
// Both sides are safe for concurrent use.
package session

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/brine-project/brine/pkg/proto"
)

// Errors; compare with errors.Is.
var (
	ErrBadSignature     = errors.New("session: bad signature")
	ErrUnsigned         = errors.New("session: unsigned message")
	ErrStale            = errors.New("session: timestamp outside the accepted window")
	ErrReplay           = errors.New("session: replayed message")
	ErrUnknownKey       = errors.New("session: unknown key generation")
	ErrUndecryptable    = errors.New("session: cannot decrypt")
	ErrNotAuthenticated = errors.New("session: not authenticated")
	ErrUnknownMinion    = errors.New("session: minion has no request key; it must authenticate")
	ErrMasterKey        = errors.New("session: master key does not match the pinned key")
	ErrMasterFinger     = errors.New("session: master key does not match master_finger")
	ErrUnexpectedReply  = errors.New("session: auth reply does not answer our hello")
	ErrMalformed        = errors.New("session: malformed message")
)

// Status is the master's decision on a minion's key.
type Status = proto.AuthStatus

// DefaultWindow is how far a timestamp may be from the receiver's clock.
const DefaultWindow = 5 * time.Minute

// DefaultReAuthJitter is the window over which minions spread their re-auth
// after a rotation.
const DefaultReAuthJitter = 10 * time.Second

// Associated data binds each ciphertext to its direction, minion and key,
// so a sealed request cannot be replayed as a reply or to another minion.
func publishAD(keyID uint64, ts int64, msgID string) []byte {
	b := append([]byte("brine/publish\x00"), msgID...)
	b = binary.BigEndian.AppendUint64(b, keyID)
	return binary.BigEndian.AppendUint64(b, uint64(ts))
}

func requestAD(dir string, minionID string, keyID uint64) []byte {
	b := append([]byte("brine/"+dir+"\x00"), minionID...)
	return binary.BigEndian.AppendUint64(b, keyID)
}

func fresh(now time.Time, ts int64, window time.Duration) bool {
	d := now.Sub(time.Unix(0, ts))
	return d <= window && d >= -window
}

// seqWindow refuses repeated sequence numbers, tolerating reordering of up
// to 64 (as IPsec's anti-replay window does) in constant memory.
type seqWindow struct {
	highest uint64
	seen    uint64 // bit i set: highest-i was seen
}

func (w *seqWindow) accept(n uint64) bool {
	switch {
	case n == 0:
		return false
	case n > w.highest:
		shift := n - w.highest
		if shift >= 64 {
			w.seen = 0
		} else {
			w.seen <<= shift
		}
		w.seen |= 1
		w.highest = n
		return true
	case w.highest-n >= 64:
		return false
	}
	bit := uint64(1) << (w.highest - n)
	if w.seen&bit != 0 {
		return false
	}
	w.seen |= bit
	return true
}

// idCache remembers message ids for the replay window in bounded memory.
// When full it forgets the oldest id and raises floor to its timestamp:
// anything not newer than floor is then refused as possibly replayed, so
// the bound never lets a replay through.
type idCache struct {
	max   int
	ids   map[string]int64 // id → timestamp
	order []cacheEntry     // insertion order (FIFO ring as a slice)
	head  int
	floor int64
}

type cacheEntry struct {
	id string
	ts int64
}

func newIDCache(max int) *idCache {
	// No size hint: max is a bound, not the usual size, and thousands of
	// minions in one process (tests, benchmarks) would each reserve it.
	return &idCache{max: max, ids: map[string]int64{}}
}

// add records id, reporting false if it was seen (or may have been).
func (c *idCache) add(id string, ts, expired int64) bool {
	// Forget ids whose timestamp fell out of the window: the staleness
	// check refuses them anyway.
	for c.head < len(c.order) && c.order[c.head].ts < expired {
		delete(c.ids, c.order[c.head].id)
		c.head++
	}
	if ts <= c.floor {
		return false
	}
	if _, ok := c.ids[id]; ok {
		return false
	}
	if len(c.ids) >= c.max {
		old := c.order[c.head]
		c.head++
		delete(c.ids, old.id)
		if old.ts > c.floor {
			c.floor = old.ts
		}
		if ts <= c.floor {
			return false
		}
	}
	c.ids[id] = ts
	c.order = append(c.order, cacheEntry{id, ts})
	if c.head > len(c.order)/2 && c.head > 1024 {
		c.order = append(c.order[:0:0], c.order[c.head:]...)
		c.head = 0
	}
	return true
}
