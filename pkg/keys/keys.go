// Package keys decides which minion keys the master trusts.
//
// A minion id has at most one primary key, in state pending, accepted or
// rejected, plus possibly one denied key: a different key presented later
// under the same id, kept aside so that it never replaces the key already
// known (an operator may accept it explicitly once the old one is deleted).
// Every change is reported as an [Event], including changes another process
// makes to the same store (brinectl on the master's data dir), which the
// file store notices on its next access or through [FileStore.Watch].
//
// The [Store] interface is what the master uses; [FileStore] lays keys out
// like Salt's pki dir. A later store may keep them in PostgreSQL.
package keys

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/brine-project/brine/pkg/crypto"
)

// State is the state of one minion key.
type State string

// Key states. The empty State means "no key" (in events: created, deleted).
const (
	Pending  State = "pending"
	Accepted State = "accepted"
	Rejected State = "rejected"
	Denied   State = "denied"
)

// Errors; compare with errors.Is.
var (
	ErrNotFound  = errors.New("keys: no such minion key")
	ErrInvalidID = errors.New("keys: invalid minion id")
)

// Key is one stored minion key.
type Key struct {
	ID     string
	State  State
	Public crypto.PublicKeys
}

// Fingerprint is the fingerprint operators compare for this key.
func (k Key) Fingerprint() string { return k.Public.Fingerprint() }

// Event reports one state change of one minion's key. From is empty for a
// new key, To is empty for a deleted one. A denied key appears as its own
// events (From "" To Denied, and back), independent of the primary key.
type Event struct {
	ID   string
	From State
	To   State
}

// Tag is the event bus tag for this change: "key/<state>" or "key/delete".
func (e Event) Tag() string {
	if e.To == "" {
		return "key/delete"
	}
	return "key/" + string(e.To)
}

// Store keeps minion keys and their states.
type Store interface {
	// List returns every key, sorted by id then state; an id with a denied
	// key appears twice.
	List() ([]Key, error)
	// Get returns id's primary key, or its denied key if it has no other.
	Get(id string) (Key, error)
	// Accept accepts id's pending or rejected key (or its denied key when it
	// has no other). Accepting an accepted key does nothing.
	Accept(id string) error
	// Reject rejects id's pending or accepted key (or its denied key when it
	// has no other). Rejecting a rejected key does nothing.
	Reject(id string) error
	// Delete removes every key of id, denied included.
	Delete(id string) error
	// Decide is called for each authentication: it returns the state of pub
	// for id, recording an unknown key as pending (or accepted under
	// auto-accept) and a key different from the known one as denied.
	Decide(id string, pub crypto.PublicKeys) (State, error)
}

// ValidID reports whether id can name a minion: 1 to 255 bytes of printable
// UTF-8 without path separators, not starting with a dot.
func ValidID(id string) error {
	if id == "" || len(id) > 255 {
		return fmt.Errorf("%w: length %d", ErrInvalidID, len(id))
	}
	if strings.HasPrefix(id, ".") {
		return fmt.Errorf("%w: %q starts with a dot", ErrInvalidID, id)
	}
	for _, r := range id {
		if r == '/' || r == '\\' || r == unicode.ReplacementChar || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: %q contains %q", ErrInvalidID, id, r)
		}
	}
	return nil
}
