package state

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCmdStates(t *testing.T) {
	// Not t.TempDir: its parent is 0700 and runas nobody must see the
	// marker file its onlyif checks.
	dir, err := os.MkdirTemp("", "brine-cmd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"s.sls": sub(`
make:
  cmd.run:
    - name: echo made > DIR/made
    - creates: DIR/made
guarded:
  cmd.run:
    - name: echo x >> DIR/guarded
    - unless: test -s DIR/guarded
stateful:
  cmd.run:
    - name: echo working; echo "changed=no comment='all good'"
    - stateful: true
who:
  cmd.run:
    - name: test "$(id -un)" = nobody && test "$PWD" = /tmp && test "$GREETING" = hi
    - runas: nobody
    - cwd: /tmp
    - env:
      - GREETING: hi
    - onlyif: test ! -e DIR/who-ran
script:
  cmd.script:
    - source: salt://scripts/touch.sh
    - args: DIR/scripted "two words"
    - creates: DIR/scripted
restart:
  cmd.wait:
    - name: echo fired >> DIR/fired
    - watch:
      - cmd: make
mark:
  cmd.run:
    - name: touch DIR/who-ran
    - creates: DIR/who-ran
`, "DIR", dir),
		"scripts/touch.sh": "#!/bin/sh\nprintf '%s' \"$2\" > \"$1\"\n",
	}
	res, err := New(nil, Deps{Files: writeTree(t, files), Renderer: YAMLRenderer{}}, Options{Test: true}).ApplySLS(context.Background(), "s")
	if err != nil {
		t.Fatal(err)
	}
	if r := byID(res, "make"); r.Result != None || !strings.Contains(r.Comment, "would have been executed") {
		t.Fatalf("test mode: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "made")); !os.IsNotExist(err) {
		t.Fatal("test mode ran the command")
	}
	first, _ := twice(t, files, Options{})
	mustOK(t, first)
	if r := byID(first, "stateful"); len(r.Changes) != 0 || r.Comment != "all good" {
		t.Fatalf("stateful: %+v", r)
	}
	if r := byID(first, "make"); r.Changes["retcode"] != int64(0) {
		t.Fatalf("make: %+v", r)
	}
	if got := readFile(t, filepath.Join(dir, "scripted")); got != "two words" {
		t.Fatalf("script wrote %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "fired")); got != "fired\n" {
		t.Fatalf("cmd.wait fired %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "guarded")); got != "x\n" {
		t.Fatalf("guarded ran twice: %q", got)
	}

	bad := map[string]string{"s.sls": "fail:\n  cmd.run:\n    - name: echo oops >&2; exit 3\n"}
	res, err = New(nil, Deps{Files: writeTree(t, bad), Renderer: YAMLRenderer{}}, Options{}).ApplySLS(context.Background(), "s")
	if err != nil {
		t.Fatal(err)
	}
	if r := byID(res, "fail"); r.Result != False || r.Changes["retcode"] != int64(3) || r.Changes["stderr"] != "oops" {
		t.Fatalf("failing command: %+v", r)
	}
}
