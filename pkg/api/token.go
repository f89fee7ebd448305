package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Token is one entry of the master config's api_tokens.
type Token struct {
	Name string `yaml:"name" json:"name"`
	// TokenHash is "sha256:<hex>" of the secret token (see HashToken), so
	// the config file does not hold the secret itself.
	TokenHash string `yaml:"token_hash" json:"token_hash"`
	// Admin tokens may manage keys and run any function on any minion.
	Admin       bool         `yaml:"admin" json:"admin"`
	Permissions []Permission `yaml:"permissions" json:"permissions"`
}

// Permission lets a token run the functions matching one of Functions
// (regular expressions, anchored at both ends: "test\\..*") on the minions
// matching Target (compound syntax: "web* and G@os:Debian").
type Permission struct {
	Target    string   `yaml:"target" json:"target"`
	Functions []string `yaml:"functions" json:"functions"`
}

// AdminTokenFile is the name of the admin token file in the master's data dir.
const AdminTokenFile = "admin.token"

// HashToken returns the token_hash for a secret token: "sha256:<hex>".
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(h[:])
}

// NewToken returns a fresh random secret token (256 bits, URL-safe base64).
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("api: random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// EnsureAdminToken returns the token stored in <dataDir>/admin.token,
// creating the file (mode 0600, the directory 0700 if missing) with a new
// random token when it does not exist. The master calls it when no
// api_tokens are configured and passes the token as Config.AdminToken;
// brinectl on the same host reads the file.
func EnsureAdminToken(dataDir string) (string, error) {
	path := filepath.Join(dataDir, AdminTokenFile)
	if b, err := os.ReadFile(path); err == nil {
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("api: %s is empty", path)
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			// Someone loosened it: tighten rather than refuse, the secret is
			// ours to protect.
			if err := os.Chmod(path, 0o600); err != nil {
				return "", fmt.Errorf("api: chmod %s: %w", path, err)
			}
		}
		return tok, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("api: read admin token: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("api: admin token dir: %w", err)
	}
	tok, err := NewToken()
	if err != nil {
		return "", err
	}
	// Write to a temp file and link it into place so that two masters
	// starting at once never see a half-written token, and the first wins.
	f, err := os.CreateTemp(dataDir, ".admin.token-*")
	if err != nil {
		return "", fmt.Errorf("api: create admin token: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return "", fmt.Errorf("api: chmod admin token: %w", err)
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("api: write admin token: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("api: write admin token: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return EnsureAdminToken(dataDir)
		}
		return "", fmt.Errorf("api: install admin token: %w", err)
	}
	return tok, nil
}

// principal is an authenticated caller.
type principal struct {
	name  string
	admin bool
	perms []compiledPerm
}

type compiledPerm struct {
	target string
	funcs  []*regexp.Regexp
}

// allowsFun reports whether the permission's function regexes match fun.
func (p compiledPerm) allowsFun(fun string) bool {
	for _, re := range p.funcs {
		if re.MatchString(fun) {
			return true
		}
	}
	return false
}

type tokenEntry struct {
	hash [sha256.Size]byte
	p    *principal
}

// compileTokens validates the configured tokens, collecting every problem.
func compileTokens(tokens []Token, adminToken string) ([]tokenEntry, error) {
	var errs []error
	var out []tokenEntry
	names := map[string]bool{}
	for i, t := range tokens {
		where := fmt.Sprintf("api_tokens[%d]", i)
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("api: %s: name is required", where))
		} else if names[t.Name] {
			errs = append(errs, fmt.Errorf("api: %s: duplicate name %q", where, t.Name))
		}
		names[t.Name] = true
		hexHash, ok := strings.CutPrefix(t.TokenHash, "sha256:")
		raw, err := hex.DecodeString(hexHash)
		if !ok || err != nil || len(raw) != sha256.Size {
			errs = append(errs, fmt.Errorf("api: %s (%s): token_hash must be \"sha256:\" and 64 hex digits", where, t.Name))
			continue
		}
		p := &principal{name: t.Name, admin: t.Admin}
		for j, perm := range t.Permissions {
			if strings.TrimSpace(perm.Target) == "" {
				errs = append(errs, fmt.Errorf("api: %s.permissions[%d]: target is required", where, j))
			}
			if len(perm.Functions) == 0 {
				errs = append(errs, fmt.Errorf("api: %s.permissions[%d]: functions is empty", where, j))
			}
			cp := compiledPerm{target: perm.Target}
			for _, f := range perm.Functions {
				re, err := regexp.Compile(`^(?:` + f + `)$`)
				if err != nil {
					errs = append(errs, fmt.Errorf("api: %s.permissions[%d]: function %q: %w", where, j, f, err))
					continue
				}
				cp.funcs = append(cp.funcs, re)
			}
			p.perms = append(p.perms, cp)
		}
		e := tokenEntry{p: p}
		copy(e.hash[:], raw)
		out = append(out, e)
	}
	if adminToken != "" {
		out = append(out, tokenEntry{hash: sha256.Sum256([]byte(adminToken)), p: &principal{name: "admin", admin: true}})
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("api: no api_tokens and no admin token: nobody could use the API"))
	}
	return out, errors.Join(errs...)
}

// lookup finds the principal of a presented secret. It compares the hash
// against every entry in constant time and without stopping early, so the
// time taken says nothing about which (or whether any) entry matched.
func lookup(entries []tokenEntry, secret string) *principal {
	h := sha256.Sum256([]byte(secret))
	var found *principal
	for i := range entries {
		if subtle.ConstantTimeCompare(h[:], entries[i].hash[:]) == 1 && found == nil {
			found = entries[i].p
		}
	}
	return found
}
