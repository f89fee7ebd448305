package api

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestCompileTokensAndLookup(t *testing.T) {
	t.Parallel()
	entries, err := compileTokens([]Token{
		{Name: "ci", TokenHash: HashToken("ci-secret"), Permissions: []Permission{{Target: "web*", Functions: []string{`test\..*`}}}},
		{Name: "ops", TokenHash: HashToken("ops-secret"), Admin: true},
	}, "adm")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		secret, name string
		admin        bool
	}{
		{"ci-secret", "ci", false},
		{"ops-secret", "ops", true},
		{"adm", "admin", true},
		{"nope", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		t.Run(c.secret, func(t *testing.T) {
			p := lookup(entries, c.secret)
			if c.name == "" {
				if p != nil {
					t.Fatalf("secret %q authenticated as %q", c.secret, p.name)
				}
				return
			}
			if p == nil || p.name != c.name || p.admin != c.admin {
				t.Fatalf("lookup = %+v", p)
			}
		})
	}
	ci := lookup(entries, "ci-secret")
	for fun, want := range map[string]bool{"test.ping": true, "test.": true, "cmd.run": false, "xtest.ping": false, "test.ping; cmd.run": true} {
		if got := ci.perms[0].allowsFun(fun); got != want {
			t.Errorf("allowsFun(%q) = %v, want %v", fun, got, want)
		}
	}
}

func TestCompileTokensErrors(t *testing.T) {
	t.Parallel()
	_, err := compileTokens([]Token{
		{Name: "", TokenHash: HashToken("a")},
		{Name: "x", TokenHash: "md5:abc"},
		{Name: "x", TokenHash: HashToken("b"), Permissions: []Permission{{Target: "", Functions: []string{"("}}}},
	}, "")
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"name is required", "token_hash must be", "duplicate name", "target is required", "function \"(\""} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := compileTokens(nil, ""); err == nil {
		t.Fatal("no tokens at all accepted")
	}
}

func TestEnsureAdminToken(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	var wg sync.WaitGroup
	toks := make([]string, 4)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := EnsureAdminToken(dir)
			if err != nil {
				t.Error(err)
			}
			toks[i] = tok
		}()
	}
	wg.Wait()
	for _, tok := range toks[1:] {
		if tok != toks[0] || len(tok) < 40 {
			t.Fatalf("tokens differ or short: %q", toks)
		}
	}
	path := filepath.Join(dir, AdminTokenFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, %v", fi.Mode(), err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := EnsureAdminToken(dir)
	if err != nil || again != toks[0] {
		t.Fatalf("second call = %q, %v", again, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode not tightened: %v", fi.Mode())
	}
}
