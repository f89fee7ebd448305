package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCaller answers execution-function calls for onlyif/unless.
type fakeCaller struct{ calls []string }

func (f *fakeCaller) Call(_ context.Context, fun string, args []any, kw map[string]any) (any, error) {
	f.calls = append(f.calls, fmt.Sprintf("%s %v %v", fun, args, kw))
	switch fun {
	case "file.file_exists":
		_, err := os.Stat(fmt.Sprint(args[0]))
		return err == nil, nil
	case "test.false":
		return false, nil
	}
	return nil, fmt.Errorf("unknown function %s", fun)
}

func TestConditionFunctions(t *testing.T) {
	caller := &fakeCaller{}
	files := writeTree(t, map[string]string{"s.sls": `
runs:
  test.succeed_with_changes:
    - onlyif:
      - fun: file.file_exists
        args: [/etc/hostname]
skipped:
  test.succeed_with_changes:
    - unless:
      - fun: file.file_exists
        args: [/etc/hostname]
also_skipped:
  test.succeed_with_changes:
    - onlyif:
      - fun: test.false
broken:
  test.succeed_with_changes:
    - onlyif:
      - fun: no.such
`})
	res, err := New(nil, Deps{Files: files, Renderer: YAMLRenderer{}, Caller: caller}, Options{}).ApplySLS(context.Background(), "s")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"runs": "Success!", "skipped": "unless condition is true", "also_skipped": "onlyif condition is false", "broken": "unknown function no.such"}
	for id, c := range want {
		if r := byID(res, id); r == nil || !strings.Contains(r.Comment, c) {
			t.Errorf("%s: %q, want %q", id, commentOf(r), c)
		}
	}
	if r := byID(res, "broken"); r.Result != False {
		t.Error("a failing condition function must fail the state")
	}
	if len(caller.calls) != 4 {
		t.Errorf("calls %v", caller.calls)
	}
}

func TestFileSourcesHTTPAndPillar(t *testing.T) {
	body := "downloaded\n"
	sum := sha256.Sum256([]byte(body))
	digest := hex.EncodeToString(sum[:])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/app.tar":
			fmt.Fprint(w, body)
		case "/SHA256SUMS":
			fmt.Fprintf(w, "%s  other.tar\n%s  app.tar\n", strings.Repeat("0", 64), digest)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "d/keep.d"), 0o755)
	for _, f := range []string{"d/x.log", "d/y.txt", "d/keep.d/z.txt"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	files := map[string]string{"s.sls": sub(`
inline:
  file.managed:
    - name: DIR/a
    - source: URL/app.tar
    - source_hash: sha256=HASH
hashfile:
  file.managed:
    - name: DIR/b
    - source: URL/app.tar
    - source_hash: URL/SHA256SUMS
nohash:
  file.managed:
    - name: DIR/c
    - source: URL/app.tar
fallback:
  file.managed:
    - name: DIR/e
    - source:
      - URL/missing
      - URL/app.tar
    - skip_verify: true
frompillar:
  file.managed:
    - name: DIR/p
    - contents_pillar: app:secret
    - mode: 600
cleaned:
  file.directory:
    - name: DIR/d
    - clean: true
    - exclude_pat: '*.log'
`, "DIR", dir, "URL", srv.URL, "HASH", digest)}
	opts := Options{Pillar: map[string]any{"app": map[string]any{"secret": "s3cret"}}}
	res, err := New(nil, Deps{Files: writeTree(t, files), Renderer: YAMLRenderer{}}, opts).ApplySLS(context.Background(), "s")
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"inline": "", "hashfile": "", "fallback": "", "frompillar": "", "cleaned": "", "nohash": "source_hash"} {
		r := byID(res, id)
		if want == "" && r.Result != True || want != "" && (r.Result != False || !strings.Contains(r.Comment, want)) {
			t.Errorf("%s: %v %q", id, r.Result, r.Comment)
		}
	}
	for f, want := range map[string]string{"a": body, "b": body, "e": body, "p": "s3cret\n"} {
		if got := readFile(t, filepath.Join(dir, f)); got != want {
			t.Errorf("%s = %q", f, got)
		}
	}
	for f, exists := range map[string]bool{"d/x.log": true, "d/y.txt": false, "d/keep.d": false} {
		if _, err := os.Stat(filepath.Join(dir, f)); (err == nil) != exists {
			t.Errorf("%s exists=%v, want %v", f, err == nil, exists)
		}
	}
	// A wrong digest fails.
	bad := map[string]string{"s.sls": sub("w:\n  file.managed:\n    - name: DIR/w\n    - source: URL/app.tar\n    - source_hash: md5=00000000000000000000000000000000\n", "DIR", dir, "URL", srv.URL)}
	res, err = New(nil, Deps{Files: writeTree(t, bad), Renderer: YAMLRenderer{}}, Options{}).ApplySLS(context.Background(), "s")
	if err != nil {
		t.Fatal(err)
	}
	if r := byID(res, "w"); r.Result != False || !strings.Contains(r.Comment, "does not match") {
		t.Fatalf("bad hash: %+v", r)
	}
}

type echoCaller struct{}

func (echoCaller) Call(_ context.Context, fun string, args []any, kw map[string]any) (any, error) {
	if fun == "test.fail" {
		return map[string]any{"result": false}, nil
	}
	if fun == "no.such" {
		return nil, fmt.Errorf("unknown function %q", fun)
	}
	return fmt.Sprintf("%s%v%v", fun, args, kw), nil
}

func TestModuleRun(t *testing.T) {
	files := writeTree(t, map[string]string{"s.sls": `
new_style:
  module.run:
    - service.restart:
      - nginx
      - no_block: true
legacy:
  module.run:
    - name: service.restart
    - m_name: nginx
fails:
  module.run:
    - test.fail: []
missing:
  module.run:
    - no.such: []
trigger: {test.succeed_with_changes: []}
watcher:
  module.run:
    - test.echo: [hi]
    - watch: [trigger]
`})
	res, err := New(nil, Deps{Files: files, Renderer: YAMLRenderer{}, Caller: echoCaller{}}, Options{}).ApplySLS(context.Background(), "s")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		result  Tri
		changes string
	}{
		"new_style": {True, "service.restart[nginx]map[no_block:true]"},
		"legacy":    {True, "service.restart[]map[name:nginx]"},
		"fails":     {False, ""},
		"missing":   {False, ""},
		"watcher":   {True, "test.echo[hi]map[]"},
	}
	for id, want := range cases {
		r := byID(res, id)
		if r.Result != want.result || want.changes != "" && fmt.Sprint(r.Changes) != fmt.Sprintf("map[%s:%s]", strings.SplitN(want.changes, "[", 2)[0], want.changes) {
			t.Errorf("%s: %v %v %q", id, r.Result, r.Changes, r.Comment)
		}
	}
	res, err = New(nil, Deps{Files: files, Renderer: YAMLRenderer{}, Caller: echoCaller{}}, Options{Test: true}).ApplySLS(context.Background(), "s")
	if err != nil {
		t.Fatal(err)
	}
	if r := byID(res, "new_style"); r.Result != None || r.Comment != "Function service.restart to be executed." {
		t.Fatalf("test mode: %+v", r)
	}
}

func TestFileTouch(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"s.sls": sub("t:\n  file.touch:\n    - name: DIR/a/b\n    - makedirs: true\n    - mtime: 1000000000\n", "DIR", dir)}
	for i, key := range []string{"new", "touched"} {
		res, err := applyTree(t, files, Options{}, "s")
		if err != nil {
			t.Fatal(err)
		}
		if r := byID(res, "t"); r.Result != True || r.Changes[key] == nil {
			t.Fatalf("run %d: %+v", i, r)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "a/b"))
	if err != nil || fi.ModTime().Unix() != 1000000000 {
		t.Fatalf("mtime %v %v", fi, err)
	}
}

func TestSSHAuth(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	// Use root with a config path inside a temp dir, so no real
	// authorized_keys is touched.
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ssh/authorized_keys")
	os.MkdirAll(filepath.Dir(cfg), 0o700)
	os.WriteFile(cfg, []byte("# keep me\nssh-ed25519 AAAAold old@host\n"), 0o600)
	files := map[string]string{"s.sls": sub(`
k1:
  ssh_auth.present:
    - name: AAAAB3NzaC1yc2EAAAADAQABAAABAQC1
    - user: root
    - comment: alice@laptop
    - config: CFG
k2:
  ssh_auth.present:
    - name: 'no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI2 bob@desk'
    - user: root
    - config: CFG
old:
  ssh_auth.absent:
    - name: AAAAold
    - user: root
    - config: CFG
`, "CFG", cfg)}
	first, _ := twice(t, files, Options{})
	mustOK(t, first)
	want := "# keep me\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC1 alice@laptop\nno-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI2 bob@desk\n"
	if got := readFile(t, cfg); got != want {
		t.Fatalf("got %q", got)
	}
	if r := byID(first, "old"); r.Changes["AAAAold"] != "Removed" {
		t.Fatalf("absent: %+v", r)
	}
}

// TestParallel: two parallel states each wait for the other's marker, so
// they only both succeed when they really run at the same time; the state
// requiring both runs after them.
func TestParallel(t *testing.T) {
	dir := t.TempDir()
	sls := sub(`
a:
  cmd.run:
    - name: touch DIR/a; timeout 10 sh -c 'until [ -e DIR/b ]; do sleep 0.01; done'
    - parallel: true
b:
  cmd.run:
    - name: touch DIR/b; timeout 10 sh -c 'until [ -e DIR/a ]; do sleep 0.01; done'
    - parallel: true
after:
  cmd.run:
    - name: test -e DIR/a && test -e DIR/b
    - require: [a, b]
`, "DIR", dir)
	res, err := applyTree(t, map[string]string{"s.sls": sls}, Options{}, "s")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(summary(res), " "); got != "a=True b=True after=True" {
		t.Fatalf("got %s (%v)", got, res)
	}
}
