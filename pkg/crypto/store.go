package crypto

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreate loads the key pair called name from dir, creating dir (0700)
// and a new key pair if none exists. Files: <name>.sign.key, <name>.box.key
// (0600, base64 of the private key), <name>.sign.pub, <name>.box.pub. A
// private key file with any group or other permission bit is refused with
// ErrPermissions, naming the file and its mode; a public file that does not
// match its private key is ErrKeyMismatch. A missing public file is rewritten.
func LoadOrCreate(dir, name string) (*KeyPair, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return nil, fmt.Errorf("crypto: invalid key name %q", name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("crypto: create pki dir: %w", err)
	}
	signPath := filepath.Join(dir, name+".sign.key")
	boxPath := filepath.Join(dir, name+".box.key")
	_, errS := os.Stat(signPath)
	_, errB := os.Stat(boxPath)
	switch {
	case errors.Is(errS, fs.ErrNotExist) && errors.Is(errB, fs.ErrNotExist):
		kp, err := Generate()
		if err != nil {
			return nil, err
		}
		if err := kp.save(dir, name); err != nil {
			return nil, err
		}
		return kp, nil
	case errors.Is(errS, fs.ErrNotExist):
		return nil, fmt.Errorf("crypto: %s exists but %s is missing", boxPath, signPath)
	case errors.Is(errB, fs.ErrNotExist):
		return nil, fmt.Errorf("crypto: %s exists but %s is missing", signPath, boxPath)
	}
	seed, err := readPrivate(signPath, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	boxRaw, err := readPrivate(boxPath, KeySize)
	if err != nil {
		return nil, err
	}
	var boxPriv [32]byte
	copy(boxPriv[:], boxRaw)
	kp, err := newKeyPair(seed, boxPriv)
	if err != nil {
		return nil, err
	}
	if err := checkOrWritePublic(filepath.Join(dir, name+".sign.pub"), kp.Public.Sign); err != nil {
		return nil, err
	}
	if err := checkOrWritePublic(filepath.Join(dir, name+".box.pub"), kp.Public.Box[:]); err != nil {
		return nil, err
	}
	return kp, nil
}

func (k *KeyPair) save(dir, name string) error {
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{name + ".sign.key", k.sign.Seed(), 0o600},
		{name + ".box.key", k.box[:], 0o600},
		{name + ".sign.pub", k.Public.Sign, 0o644},
		{name + ".box.pub", k.Public.Box[:], 0o644},
	}
	for _, f := range files {
		if err := WriteFileAtomic(filepath.Join(dir, f.name), encodeKey(f.data), f.mode); err != nil {
			return err
		}
	}
	return nil
}

func encodeKey(b []byte) []byte {
	return []byte(base64.StdEncoding.EncodeToString(b) + "\n")
}

func decodeKey(path string, data []byte, size int) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil || len(raw) != size {
		return nil, fmt.Errorf("%w: %s: want base64 of %d bytes", ErrBadKey, path, size)
	}
	return raw, nil
}

func readPrivate(path string, size int) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("crypto: %w", err)
	}
	if mode := st.Mode().Perm(); mode&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %#o, want 0600", ErrPermissions, path, mode)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("crypto: %w", err)
	}
	return decodeKey(path, data, size)
}

func checkOrWritePublic(path string, want []byte) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return WriteFileAtomic(path, encodeKey(want), 0o644)
	}
	if err != nil {
		return fmt.Errorf("crypto: %w", err)
	}
	got, err := decodeKey(path, data, len(want))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: %s", ErrKeyMismatch, path)
	}
	return nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so readers never see a partial key file.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("crypto: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("crypto: write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("crypto: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("crypto: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("crypto: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("crypto: write %s: %w", path, err)
	}
	return nil
}

// MarshalPublicKeys renders public keys as the two-line text stored in key
// directories and pin files:
//
//	sign: <base64 Ed25519 public key>
//	box: <base64 X25519 public key>
func MarshalPublicKeys(p PublicKeys) []byte {
	return []byte("sign: " + base64.StdEncoding.EncodeToString(p.Sign) + "\n" +
		"box: " + base64.StdEncoding.EncodeToString(p.Box[:]) + "\n")
}

// ParsePublicKeys is the inverse of [MarshalPublicKeys].
func ParsePublicKeys(data []byte) (PublicKeys, error) {
	var p PublicKeys
	var haveSign, haveBox bool
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return PublicKeys{}, fmt.Errorf("%w: line %q", ErrBadKey, line)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil || len(raw) != KeySize {
			return PublicKeys{}, fmt.Errorf("%w: %s key is not base64 of 32 bytes", ErrBadKey, k)
		}
		switch strings.TrimSpace(k) {
		case "sign":
			p.Sign, haveSign = ed25519.PublicKey(raw), true
		case "box":
			copy(p.Box[:], raw)
			haveBox = true
		default:
			return PublicKeys{}, fmt.Errorf("%w: unknown field %q", ErrBadKey, k)
		}
	}
	if !haveSign || !haveBox {
		return PublicKeys{}, fmt.Errorf("%w: need both sign and box keys", ErrBadKey)
	}
	return p, nil
}
