package state

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func modeOf(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func TestFileStates(t *testing.T) {
	cases := []struct {
		name  string
		sls   string
		extra map[string]string
		setup func(t *testing.T, dir string)
		check func(t *testing.T, dir string, first Results)
	}{
		{
			name: "managed from template with pillar, context and mode",
			sls: `
conf:
  file.managed:
    - name: DIR/etc/app.conf
    - source: salt://app/app.conf.j2
    - template: jinja
    - makedirs: true
    - mode: 640
    - user: root
    - group: root
    - defaults: {workers: 2, who: default}
    - context: {who: context}
`,
			extra: map[string]string{"app/app.conf.j2": "port={{ pillar.web.port }}\nworkers={{ workers }}\nwho={{ who }}\n"},
			check: func(t *testing.T, dir string, first Results) {
				p := filepath.Join(dir, "etc/app.conf")
				if got := readFile(t, p); got != "port=8080\nworkers=2\nwho=context\n" {
					t.Fatalf("content %q", got)
				}
				if m := modeOf(t, p).Perm(); m != 0o640 {
					t.Fatalf("mode %o", m)
				}
				if r := byID(first, "conf"); r.Changes["diff"] != "New file" || r.Changes["mode"] != "0640" {
					t.Fatalf("changes %v", r.Changes)
				}
			},
		},
		{
			name: "managed contents with diff and backup, list of sources",
			setup: func(t *testing.T, dir string) {
				os.WriteFile(filepath.Join(dir, "a.txt"), []byte("one\ntwo\nthree\n"), 0o600)
				os.WriteFile(filepath.Join(dir, "real.txt"), []byte("old\n"), 0o644)
				os.Symlink("real.txt", filepath.Join(dir, "link.txt"))
			},
			sls: `
a:
  file.managed:
    - name: DIR/a.txt
    - contents: |
        one
        2
        three
    - backup: minion
b:
  file.managed:
    - name: DIR/b.txt
    - source:
      - salt://missing.txt
      - salt://present.txt
    - source_hash: sha256=edeaaff3f1774ad2888673770c6d64097e391bc362d7d6fb34982ddf0efd18cb
via-link:
  file.managed:
    - name: DIR/link.txt
    - contents: through the link
c:
  file.managed:
    - name: DIR/c.txt
    - contents:
      - x
      - y
`,
			extra: map[string]string{"present.txt": "abc\n"},
			check: func(t *testing.T, dir string, first Results) {
				if got := readFile(t, filepath.Join(dir, "a.txt")); got != "one\n2\nthree\n" {
					t.Fatalf("a %q", got)
				}
				if m := modeOf(t, filepath.Join(dir, "a.txt")).Perm(); m != 0o600 {
					t.Fatalf("mode not kept: %o", m)
				}
				diff, _ := byID(first, "a").Changes["diff"].(string)
				if !strings.Contains(diff, "-two\n+2\n") || !strings.Contains(diff, "@@ -1,3 +1,3 @@") {
					t.Fatalf("diff %q", diff)
				}
				if got := readFile(t, filepath.Join(dir, "b.txt")); got != "abc\n" {
					t.Fatalf("b %q", got)
				}
				if got := readFile(t, filepath.Join(dir, "real.txt")); got != "through the link\n" || modeOf(t, filepath.Join(dir, "link.txt"))&os.ModeSymlink == 0 {
					t.Fatalf("symlink not followed: real.txt %q", got)
				}
				if got := readFile(t, filepath.Join(dir, "c.txt")); got != "x\ny\n" {
					t.Fatalf("c %q", got)
				}
			},
		},
		{
			name: "directory with recurse and clean keeping required files",
			setup: func(t *testing.T, dir string) {
				os.MkdirAll(filepath.Join(dir, "d/sub"), 0o700)
				os.WriteFile(filepath.Join(dir, "d/sub/f"), []byte("x"), 0o600)
				os.WriteFile(filepath.Join(dir, "d/stray"), []byte("x"), 0o600)
			},
			sls: `
d:
  file.directory:
    - name: DIR/d
    - user: nobody
    - group: nogroup
    - dir_mode: 751
    - file_mode: 604
    - recurse: [user, group, mode]
    - clean: true
    - require:
      - file: DIR/d/keep.conf
keep:
  file.managed:
    - name: DIR/d/keep.conf
    - contents: keep
new:
  file.directory:
    - name: DIR/x/y/z
    - makedirs: true
`,
			check: func(t *testing.T, dir string, first Results) {
				if _, err := os.Stat(filepath.Join(dir, "d/stray")); !os.IsNotExist(err) {
					t.Fatal("stray not cleaned")
				}
				if _, err := os.Stat(filepath.Join(dir, "d/sub")); !os.IsNotExist(err) {
					t.Fatal("sub not cleaned")
				}
				if m := modeOf(t, filepath.Join(dir, "d")).Perm(); m != 0o751 {
					t.Fatalf("dir mode %o", m)
				}
				if readFile(t, filepath.Join(dir, "d/keep.conf")) != "keep\n" {
					t.Fatal("keep.conf")
				}
				if m := modeOf(t, filepath.Join(dir, "d/keep.conf")).Perm(); m != 0o604 {
					t.Fatalf("recursed file mode %o", m)
				}
				if st, err := os.Stat(filepath.Join(dir, "x/y/z")); err != nil || !st.IsDir() {
					t.Fatal("makedirs")
				}
			},
		},
		{
			name: "absent and symlink",
			setup: func(t *testing.T, dir string) {
				os.MkdirAll(filepath.Join(dir, "gone/deep"), 0o755)
				os.WriteFile(filepath.Join(dir, "gone.txt"), nil, 0o644)
				os.Symlink("/nowhere", filepath.Join(dir, "wrong"))
				os.WriteFile(filepath.Join(dir, "plainfile"), nil, 0o644)
			},
			sls: `
rm1: {file.absent: [{name: DIR/gone}]}
rm2: {file.absent: [{name: DIR/gone.txt}]}
l1: {file.symlink: [{name: DIR/link}, {target: /etc/hostname}]}
l2: {file.symlink: [{name: DIR/wrong}, {target: /etc/hostname}]}
l3: {file.symlink: [{name: DIR/plainfile}, {target: /etc/hostname}, {force: true}]}
`,
			check: func(t *testing.T, dir string, first Results) {
				for _, l := range []string{"link", "wrong", "plainfile"} {
					if got, _ := os.Readlink(filepath.Join(dir, l)); got != "/etc/hostname" {
						t.Fatalf("%s -> %q", l, got)
					}
				}
				if _, err := os.Stat(filepath.Join(dir, "gone")); !os.IsNotExist(err) {
					t.Fatal("gone still there")
				}
			},
		},
		{
			name: "replace append line",
			setup: func(t *testing.T, dir string) {
				os.WriteFile(filepath.Join(dir, "cfg"), []byte("Port 22\n#PermitRootLogin yes\n  Listen 80\nObsolete yes\nkey = old\n"), 0o644)
			},
			sls: `
r1:
  file.replace:
    - name: DIR/cfg
    - pattern: '^Port \d+$'
    - repl: Port 2222
r2:
  file.replace:
    - name: DIR/cfg
    - pattern: '^(key) = .*$'
    - repl: '\1 = new'
r3:
  file.replace:
    - name: DIR/cfg
    - pattern: '^MaxAuth.*$'
    - repl: MaxAuthTries 3
    - append_if_not_found: true
ap:
  file.append:
    - name: DIR/cfg
    - text:
      - "# managed by brine"
      - Port 2222
l1:
  file.line:
    - name: DIR/cfg
    - mode: replace
    - match: '^#PermitRootLogin'
    - content: PermitRootLogin no
l2:
  file.line:
    - name: DIR/cfg
    - mode: ensure
    - after: 'Listen 80'
    - content: Listen 443
l3:
  file.line:
    - name: DIR/cfg
    - mode: insert
    - location: start
    - content: "# top"
l4:
  file.line:
    - name: DIR/cfg
    - mode: delete
    - match: '^Obsolete'
`,
			check: func(t *testing.T, dir string, first Results) {
				want := "# top\nPort 2222\nPermitRootLogin no\n  Listen 80\n  Listen 443\nkey = new\nMaxAuthTries 3\n# managed by brine\n"
				if got := readFile(t, filepath.Join(dir, "cfg")); got != want {
					t.Fatalf("got\n%s\nwant\n%s", got, want)
				}
				// file.replace keeps a .bak copy by default, as Salt does.
				if bak := readFile(t, filepath.Join(dir, "cfg.bak")); !strings.Contains(bak, "key") {
					t.Fatalf("backup %q", bak)
				}
			},
		},
		{
			name: "serialize copy comment uncomment blockreplace exists",
			setup: func(t *testing.T, dir string) {
				os.WriteFile(filepath.Join(dir, "src"), []byte("copied\n"), 0o600)
				os.WriteFile(filepath.Join(dir, "conf"), []byte("PermitRootLogin yes\n#Banner /etc/issue\n# BEGIN brine\nold\n# END brine\n"), 0o644)
			},
			sls: `
ser-json:
  file.serialize:
    - name: DIR/data.json
    - formatter: json
    - dataset: {b: [1, 2], a: "x<y"}
ser-yaml:
  file.serialize:
    - name: DIR/data.yaml
    - dataset_pillar: web
cp:
  file.copy:
    - name: DIR/dst
    - source: DIR/src
    - preserve: true
com:
  file.comment:
    - name: DIR/conf
    - regex: ^PermitRootLogin
uncom:
  file.uncomment:
    - name: DIR/conf
    - regex: Banner
block:
  file.blockreplace:
    - name: DIR/conf
    - marker_start: "# BEGIN brine"
    - marker_end: "# END brine"
    - content: |
        new line 1
        new line 2
there: {file.exists: [{name: DIR/src}]}
gone: {file.missing: [{name: DIR/nothing}]}
`,
			check: func(t *testing.T, dir string, first Results) {
				if got := readFile(t, filepath.Join(dir, "data.json")); got != "{\n  \"a\": \"x<y\",\n  \"b\": [\n    1,\n    2\n  ]\n}\n" {
					t.Fatalf("json %q", got)
				}
				if got := readFile(t, filepath.Join(dir, "data.yaml")); got != "port: 8080\n" {
					t.Fatalf("yaml %q", got)
				}
				if readFile(t, filepath.Join(dir, "dst")) != "copied\n" || modeOf(t, filepath.Join(dir, "dst")).Perm() != 0o600 {
					t.Fatal("copy")
				}
				want := "#PermitRootLogin yes\nBanner /etc/issue\n# BEGIN brine\nnew line 1\nnew line 2\n# END brine\n"
				if got := readFile(t, filepath.Join(dir, "conf")); got != want {
					t.Fatalf("conf %q", got)
				}
			},
		},
		{
			name:  "recurse from salt:// with clean",
			extra: map[string]string{"site/index.html": "hi\n", "site/css/a.css": "a{}\n", "site/skip.tmp": "x"},
			setup: func(t *testing.T, dir string) {
				os.MkdirAll(filepath.Join(dir, "www"), 0o755)
				os.WriteFile(filepath.Join(dir, "www/old.html"), nil, 0o644)
			},
			sls: `
www:
  file.recurse:
    - name: DIR/www
    - source: salt://site
    - clean: true
    - exclude_pat: '*.tmp'
    - file_mode: 600
`,
			check: func(t *testing.T, dir string, first Results) {
				if readFile(t, filepath.Join(dir, "www/css/a.css")) != "a{}\n" {
					t.Fatal("css")
				}
				for _, gone := range []string{"www/old.html", "www/skip.tmp"} {
					if _, err := os.Stat(filepath.Join(dir, gone)); !os.IsNotExist(err) {
						t.Fatalf("%s exists", gone)
					}
				}
				if m := modeOf(t, filepath.Join(dir, "www/index.html")).Perm(); m != 0o600 {
					t.Fatalf("mode %o", m)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			files := map[string]string{"s.sls": sub(tc.sls, "DIR", dir)}
			for k, v := range tc.extra {
				files[k] = v
			}
			opts := Options{Pillar: map[string]any{"web": map[string]any{"port": 8080}}}
			// test=True first: would-be changes, nothing touched.
			before := snapshot(t, dir)
			fc := writeTree(t, files)
			res, err := New(nil, Deps{Files: fc, Renderer: jinjaRenderer{}}, Options{Test: true, Pillar: opts.Pillar}).ApplySLS(context.Background(), "s")
			if err != nil {
				t.Fatal(err)
			}
			for _, tag := range res.Tags() {
				if r := res[tag]; r.Result == False {
					t.Fatalf("test run: %s failed: %s", tag, r.Comment)
				}
			}
			if after := snapshot(t, dir); after != before {
				t.Fatalf("test=True changed the tree:\n%s\n---\n%s", before, after)
			}
			first, _ := twice(t, files, opts)
			mustOK(t, first)
			tc.check(t, dir, first)
		})
	}
}

// snapshot lists paths, modes and contents under dir.
func snapshot(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.Mode().String())
		if fi.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			b.WriteString(" " + string(data))
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			b.WriteString(" -> " + l)
		}
		b.WriteString("\n")
		return nil
	})
	return b.String()
}
