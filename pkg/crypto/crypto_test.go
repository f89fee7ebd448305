package crypto

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestLoadOrCreateRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	a, err := LoadOrCreate(dir, "master")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %#o, want 0700", st.Mode().Perm())
	}
	for _, f := range []string{"master.sign.key", "master.box.key"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %#o, want 0600", f, st.Mode().Perm())
		}
	}
	b, err := LoadOrCreate(dir, "master")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Public.Equal(b.Public) {
		t.Fatal("reloaded key pair differs")
	}
	msg := []byte("hello")
	if !Verify(b.Public.Sign, msg, a.Sign(msg)) {
		t.Fatal("signature by the reloaded key does not verify")
	}
	// A missing public file is rewritten.
	if err := os.Remove(filepath.Join(dir, "master.box.pub")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(dir, "master"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "master.box.pub")); err != nil {
		t.Fatal(err)
	}
}

func TestLoadOrCreateRefuses(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(t *testing.T, dir string)
		wantErr error
		wantMsg string
	}{
		{"group readable sign key", func(t *testing.T, dir string) {
			chmod(t, filepath.Join(dir, "m.sign.key"), 0o640)
		}, ErrPermissions, "m.sign.key has mode 0640"},
		{"world readable box key", func(t *testing.T, dir string) {
			chmod(t, filepath.Join(dir, "m.box.key"), 0o604)
		}, ErrPermissions, "m.box.key has mode 0604"},
		{"public key swapped", func(t *testing.T, dir string) {
			other, err := Generate()
			if err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "m.sign.pub"), encodeKey(other.Public.Sign))
		}, ErrKeyMismatch, "m.sign.pub"},
		{"garbage private key", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "m.box.key"), []byte("not base64!"))
		}, ErrBadKey, "m.box.key"},
		{"missing half", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "m.box.key")); err != nil {
				t.Fatal(err)
			}
		}, nil, "m.box.key is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := LoadOrCreate(dir, "m"); err != nil {
				t.Fatal(err)
			}
			tt.mutate(t, dir)
			_, err := LoadOrCreate(dir, "m")
			if err == nil {
				t.Fatal("loaded a bad key")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}

func chmod(t *testing.T, p string, m os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, m); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFingerprint(t *testing.T) {
	fp := Fingerprint([]byte("abc"))
	// SHA-256("abc") = ba7816bf...
	if !strings.HasPrefix(fp, "ba:78:16:bf:") {
		t.Errorf("fingerprint %s", fp)
	}
	if !regexp.MustCompile(`^([0-9a-f]{2}:){31}[0-9a-f]{2}$`).MatchString(fp) {
		t.Errorf("fingerprint format %s", fp)
	}
	if !FingerprintsEqual(fp, strings.ToUpper(strings.ReplaceAll(fp, ":", ""))) {
		t.Error("fingerprint comparison should ignore case and colons")
	}
	if FingerprintsEqual(fp, Fingerprint([]byte("abd"))) {
		t.Error("different fingerprints compared equal")
	}
	kp, _ := Generate()
	if kp.Public.Fingerprint() != Fingerprint(kp.Public.Sign) {
		t.Error("a key pair's fingerprint is that of its signing key")
	}
}

func TestSealOpen(t *testing.T) {
	key := NewSymmetricKey()
	other := NewSymmetricKey()
	sealed := Seal(key, []byte("secret"), []byte("ctx"))
	if len(sealed) != len("secret")+SealOverhead {
		t.Fatalf("sealed length %d", len(sealed))
	}
	if again := Seal(key, []byte("secret"), []byte("ctx")); bytes.Equal(again, sealed) {
		t.Fatal("two seals of one plaintext are identical: nonce not random")
	}
	pt, err := Open(key, sealed, []byte("ctx"))
	if err != nil || string(pt) != "secret" {
		t.Fatalf("open: %q, %v", pt, err)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name   string
		key    *[32]byte
		sealed []byte
		ad     string
	}{
		{"wrong key", other, sealed, "ctx"},
		{"wrong ad", key, sealed, "other"},
		{"tampered", key, tampered, "ctx"},
		{"truncated", key, sealed[:10], "ctx"},
		{"empty", key, nil, "ctx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open(tt.key, tt.sealed, []byte(tt.ad)); !errors.Is(err, ErrOpen) {
				t.Fatalf("err = %v, want ErrOpen", err)
			}
		})
	}
}

func TestSealToOpenFrom(t *testing.T) {
	master, _ := Generate()
	minion, _ := Generate()
	eve, _ := Generate()
	sealed, err := master.SealTo(&minion.Public.Box, []byte("session key"))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := minion.OpenFrom(&master.Public.Box, sealed)
	if err != nil || string(pt) != "session key" {
		t.Fatalf("open: %q, %v", pt, err)
	}
	if _, err := eve.OpenFrom(&master.Public.Box, sealed); !errors.Is(err, ErrOpen) {
		t.Fatalf("another key opened the box: %v", err)
	}
	if _, err := minion.OpenFrom(&eve.Public.Box, sealed); !errors.Is(err, ErrOpen) {
		t.Fatalf("box opened claiming the wrong sender: %v", err)
	}
	if _, err := minion.OpenFrom(&master.Public.Box, sealed[:5]); !errors.Is(err, ErrOpen) {
		t.Fatalf("truncated box: %v", err)
	}
}

func TestSignVerify(t *testing.T) {
	kp, _ := Generate()
	sig := kp.Sign([]byte("m"))
	tests := []struct {
		name string
		pub  []byte
		msg  string
		sig  []byte
		want bool
	}{
		{"valid", kp.Public.Sign, "m", sig, true},
		{"other message", kp.Public.Sign, "n", sig, false},
		{"short sig", kp.Public.Sign, "m", sig[:10], false},
		{"short pub", kp.Public.Sign[:10], "m", sig, false},
		{"nil sig", kp.Public.Sign, "m", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.pub, []byte(tt.msg), tt.sig); got != tt.want {
				t.Fatalf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPublicKeysText(t *testing.T) {
	kp, _ := Generate()
	text := MarshalPublicKeys(kp.Public)
	p, err := ParsePublicKeys(text)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Equal(kp.Public) {
		t.Fatal("round trip changed keys")
	}
	raw, err := PublicKeysFromBytes(kp.Public.Bytes())
	if err != nil || !raw.Equal(kp.Public) {
		t.Fatalf("bytes round trip: %v", err)
	}
	bad := []string{"", "sign: AAAA\n", "sign: !!\nbox: !!\n", "foo: bar\n", "nocolon\n"}
	for _, b := range bad {
		t.Run(b, func(t *testing.T) {
			if _, err := ParsePublicKeys([]byte(b)); !errors.Is(err, ErrBadKey) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func BenchmarkSeal1K(b *testing.B) {
	key := NewSymmetricKey()
	msg := make([]byte, 1024)
	b.SetBytes(1024)
	for b.Loop() {
		Seal(key, msg, nil)
	}
}

func BenchmarkVerify(b *testing.B) {
	kp, _ := Generate()
	msg := make([]byte, 1024)
	sig := kp.Sign(msg)
	for b.Loop() {
		Verify(kp.Public.Sign, msg, sig)
	}
}
