// Package crypto holds Brine's key material and the primitives built on it.
//
// Every daemon owns a [KeyPair]: an Ed25519 key for signatures and an X25519
// key for NaCl box, stored in its pki directory with mode 0600 in a 0700
// directory. [LoadOrCreate] refuses a private key file that group or others
// could read, naming the file and its mode, so a daemon never starts on a
// leaked key.
//
// What the package promises:
//   - [Seal]/[Open] are XChaCha20-Poly1305 with a random 24-byte nonce
//     prefixed to the ciphertext; the associated data binds a ciphertext to
//     its context, so a ciphertext moved to another context does not open;
//   - [KeyPair.SealTo]/[KeyPair.OpenFrom] are NaCl box (X25519,
//     XSalsa20-Poly1305) with a random nonce prefixed, for handing a session
//     key to exactly one peer;
//   - fingerprints are SHA-256 rendered as lower-case "ab:cd:..." pairs;
//   - no function logs, and no error message contains key material.
package crypto

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
)

// Errors returned by this package; compare with errors.Is.
var (
	// ErrOpen means a ciphertext did not authenticate: wrong key, wrong
	// associated data, tampered or truncated.
	ErrOpen = errors.New("crypto: message authentication failed")
	// ErrPermissions means a private key file is readable by group or others.
	ErrPermissions = errors.New("crypto: private key file permissions too open")
	// ErrKeyMismatch means a stored public key does not match its private key.
	ErrKeyMismatch = errors.New("crypto: public key does not match private key")
	// ErrBadKey means key bytes have the wrong length or encoding.
	ErrBadKey = errors.New("crypto: malformed key")
)

// Sizes of the encodings this package produces.
const (
	KeySize       = 32                               // symmetric key, X25519 key, Ed25519 public key
	SignatureSize = ed25519.SignatureSize            // 64
	SealOverhead  = chacha20poly1305.NonceSizeX + 16 // nonce + tag added by Seal
	BoxOverhead   = 24 + box.Overhead                // nonce + tag added by SealTo
	PublicSize    = ed25519.PublicKeySize + KeySize  // PublicKeys.Bytes length
)

// PublicKeys is the public half of a daemon's identity.
type PublicKeys struct {
	Sign ed25519.PublicKey // Ed25519, 32 bytes
	Box  [32]byte          // X25519
}

// Bytes returns Sign followed by Box (64 bytes).
func (p PublicKeys) Bytes() []byte {
	b := make([]byte, 0, PublicSize)
	b = append(b, p.Sign...)
	return append(b, p.Box[:]...)
}

// Fingerprint is the SHA-256 fingerprint of the Ed25519 key, which is what
// operators compare (`brinectl key finger`, master_finger). It identifies
// both keys: the box key always travels in a message signed by the
// signing key.
func (p PublicKeys) Fingerprint() string { return Fingerprint(p.Sign) }

// Equal reports whether both keys are identical.
func (p PublicKeys) Equal(o PublicKeys) bool {
	return subtle.ConstantTimeCompare(p.Bytes(), o.Bytes()) == 1
}

// PublicKeysFromBytes is the inverse of [PublicKeys.Bytes].
func PublicKeysFromBytes(b []byte) (PublicKeys, error) {
	if len(b) != PublicSize {
		return PublicKeys{}, fmt.Errorf("%w: public keys are %d bytes, want %d", ErrBadKey, len(b), PublicSize)
	}
	var p PublicKeys
	p.Sign = ed25519.PublicKey(append([]byte(nil), b[:32]...))
	copy(p.Box[:], b[32:])
	return p, nil
}

// KeyPair is one daemon's identity: signing and box keys.
type KeyPair struct {
	sign   ed25519.PrivateKey
	box    [32]byte
	Public PublicKeys
}

// Generate makes a new random key pair.
func Generate() (*KeyPair, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("crypto: generate signing key: %w", err)
	}
	var boxPriv [32]byte
	if _, err := rand.Read(boxPriv[:]); err != nil {
		return nil, fmt.Errorf("crypto: generate box key: %w", err)
	}
	return newKeyPair(priv.Seed(), boxPriv)
}

func newKeyPair(seed []byte, boxPriv [32]byte) (*KeyPair, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: signing seed is %d bytes", ErrBadKey, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	boxPub, err := curve25519.X25519(boxPriv[:], curve25519.Basepoint)
	if err != nil {
		return nil, fmt.Errorf("crypto: derive box public key: %w", err)
	}
	kp := &KeyPair{sign: priv, box: boxPriv}
	kp.Public.Sign = priv.Public().(ed25519.PublicKey)
	copy(kp.Public.Box[:], boxPub)
	return kp, nil
}

// Sign signs msg with the Ed25519 key.
func (k *KeyPair) Sign(msg []byte) []byte { return ed25519.Sign(k.sign, msg) }

// Verify reports whether sig is pub's valid Ed25519 signature of msg. A
// public key of the wrong length is simply invalid.
func Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != SignatureSize {
		return false
	}
	return ed25519.Verify(pub, msg, sig)
}

// Fingerprint renders SHA-256(pub) as "ab:cd:...".
func Fingerprint(pub []byte) string {
	sum := sha256.Sum256(pub)
	h := hex.EncodeToString(sum[:])
	var b strings.Builder
	b.Grow(len(h) + len(h)/2)
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// FingerprintsEqual compares fingerprints ignoring case and separators, so an
// operator may paste "AB:CD..." or "abcd...".
func FingerprintsEqual(a, b string) bool {
	norm := func(s string) string {
		s = strings.ToLower(s)
		return strings.NewReplacer(":", "", "-", "", " ", "").Replace(s)
	}
	return subtle.ConstantTimeCompare([]byte(norm(a)), []byte(norm(b))) == 1
}

// NewSymmetricKey returns a fresh random 32-byte key. It panics only if the
// system's random source fails, which no caller could recover from.
func NewSymmetricKey() *[32]byte {
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		panic("crypto: random source failed: " + err.Error())
	}
	return &k
}

// Seal encrypts plaintext under key with XChaCha20-Poly1305, authenticating
// ad too, and returns nonce||ciphertext||tag.
func Seal(key *[32]byte, plaintext, ad []byte) []byte {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		panic("crypto: " + err.Error()) // unreachable: the key size is fixed
	}
	out := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		panic("crypto: random source failed: " + err.Error())
	}
	return aead.Seal(out, out, plaintext, ad)
}

// Open reverses [Seal]. Any failure is ErrOpen.
func Open(key *[32]byte, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < SealOverhead {
		return nil, fmt.Errorf("%w: ciphertext too short", ErrOpen)
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, fmt.Errorf("crypto: %w", err)
	}
	n := chacha20poly1305.NonceSizeX
	pt, err := aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// SealTo encrypts plaintext so that only the holder of peer's X25519 private
// key can read it, and it provably came from k. Output is nonce||box.
func (k *KeyPair) SealTo(peer *[32]byte, plaintext []byte) ([]byte, error) {
	var nonce [24]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("crypto: nonce: %w", err)
	}
	return box.Seal(nonce[:], plaintext, &nonce, peer, &k.box), nil
}

// OpenFrom reverses [KeyPair.SealTo] for a message sealed by peer to k.
func (k *KeyPair) OpenFrom(peer *[32]byte, sealed []byte) ([]byte, error) {
	if len(sealed) < BoxOverhead {
		return nil, fmt.Errorf("%w: box too short", ErrOpen)
	}
	var nonce [24]byte
	copy(nonce[:], sealed[:24])
	pt, ok := box.Open(nil, sealed[24:], &nonce, peer, &k.box)
	if !ok {
		return nil, ErrOpen
	}
	return pt, nil
}
