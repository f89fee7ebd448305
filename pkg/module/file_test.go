package module

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/brine-project/brine/pkg/fileperm"
)

func TestFileFuncs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(f, []byte("hello\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(sub, "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(f, link); err != nil {
		t.Fatal(err)
	}
	runCases(t, nil, []funcCase{
		{name: "read", fun: "file.read", args: []any{f}, want: `"hello\n"`},
		{name: "read binary", fun: "file.read", args: []any{f, true}, want: `"aGVsbG8K"`},
		{name: "read missing", fun: "file.read", args: []any{dir + "/nope"}, errHas: "no such file"},
		{name: "read relative", fun: "file.read", args: []any{"f.txt"}, errIs: ErrBadArgs, errHas: `"path"`},
		{name: "read needs path", fun: "file.read", errIs: ErrBadArgs, errHas: `"path"`},
		{name: "exists file", fun: "file.exists", args: []any{f}, want: "true"},
		{name: "exists dir", fun: "file.exists", args: []any{sub}, want: "true"},
		{name: "exists missing", fun: "file.exists", args: []any{dir + "/nope"}, want: "false"},
		{name: "file_exists", fun: "file.file_exists", args: []any{f}, want: "true"},
		{name: "file_exists via link", fun: "file.file_exists", args: []any{link}, want: "true"},
		{name: "file_exists on dir", fun: "file.file_exists", args: []any{sub}, want: "false"},
		{name: "directory_exists", fun: "file.directory_exists", args: []any{sub}, want: "true"},
		{name: "directory_exists on file", fun: "file.directory_exists", args: []any{f}, want: "false"},
		{name: "get_hash default sha256", fun: "file.get_hash", args: []any{f}, want: `"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"`},
		{name: "get_hash md5", fun: "file.get_hash", args: []any{f, "md5"}, want: `"b1946ac92492d2347c6235b4d2611184"`},
		{name: "get_hash sha1", fun: "file.get_hash", args: []any{f}, kw: map[string]any{"form": "sha1"}, want: `"f572d396fae9206628714fb2ce00f72e94f2258f"`},
		{name: "get_hash sha512", fun: "file.get_hash", args: []any{f, "sha512"},
			want: `"e7c22b994c59d9cf2b48e549b1e24666636045930d3da7c1acb299d1c3b7f931f94aae41edda2c2b207a36e10f8bcb8d45223e54878f5b316e7ce3b6bc019629"`},
		{name: "get_hash bad form", fun: "file.get_hash", args: []any{f, "crc32"}, errIs: ErrBadArgs, errHas: `"form"`},
		{name: "get_hash missing", fun: "file.get_hash", args: []any{dir + "/nope"}, errHas: "no such file"},
		{name: "get_mode", fun: "file.get_mode", args: []any{f}, want: `"0640"`},
		{name: "get_mode missing", fun: "file.get_mode", args: []any{dir + "/nope"}, errHas: "no such file"},
		{name: "stats missing", fun: "file.stats", args: []any{dir + "/nope"}, errHas: "path not found"},
		{name: "stats bad hash", fun: "file.stats", args: []any{f, "crc"}, errIs: ErrBadArgs, errHas: `"hash_type"`},
		{name: "remove missing", fun: "file.remove", args: []any{dir + "/nope"}, want: "false"},
		{name: "remove relative", fun: "file.remove", args: []any{"x"}, errIs: ErrBadArgs, errHas: "must be absolute"},
		{name: "set_mode bad", fun: "file.set_mode", args: []any{f, "0999"}, errIs: ErrBadArgs, errHas: `"mode"`},
		{name: "set_mode missing path", fun: "file.set_mode", args: []any{dir + "/nope", "0644"}, errHas: "file not found"},
		{name: "chown unknown user", fun: "file.chown", args: []any{f, "no-such-user-x", ""}, errIs: ErrBadArgs, errHas: `"user"`},
		{name: "chown unknown group", fun: "file.chown", args: []any{f, "", "no-such-group-x"}, errIs: ErrBadArgs, errHas: `"group"`},
		{name: "chown missing path", fun: "file.chown", args: []any{dir + "/nope", "", ""}, errHas: "path not found"},
		{name: "mkdir bad mode", fun: "file.mkdir", args: []any{dir + "/m"}, kw: map[string]any{"mode": "rwx"}, errIs: ErrBadArgs, errHas: `"mode"`},
		{name: "write unknown kwarg", fun: "file.write", args: []any{f}, kw: map[string]any{"bogus": 1}, errIs: ErrBadArgs, errHas: `"bogus"`},
		{name: "write content and lines", fun: "file.write", args: []any{f, "x"}, kw: map[string]any{"content": "y"}, errIs: ErrBadArgs, errHas: `"content"`},
		{name: "touch relative", fun: "file.touch", args: []any{"x"}, errIs: ErrBadArgs, errHas: `"name"`},
	})
}

func TestFileWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct {
		name    string
		fun     string
		args    []any
		kw      map[string]any
		want    string
		check   func(t *testing.T)
		wantErr bool
	}{
		{name: "write lines", fun: "file.write", args: []any{path("w1"), "a", "b", int64(3)}, want: `"Wrote 3 lines to \"` + path("w1") + `\""`,
			check: func(t *testing.T) { eq(t, read(path("w1")), "a\nb\n3\n") }},
		{name: "write args kwarg", fun: "file.write", args: []any{path("w2")}, kw: map[string]any{"args": []any{"x", "y"}},
			check: func(t *testing.T) { eq(t, read(path("w2")), "x\ny\n") }},
		{name: "write content", fun: "file.write", args: []any{path("w3")}, kw: map[string]any{"content": "raw\ntext"}, want: `"Wrote 2 lines to \"` + path("w3") + `\""`,
			check: func(t *testing.T) { eq(t, read(path("w3")), "raw\ntext") }},
		{name: "write replaces", fun: "file.write", args: []any{path("w1"), "only"},
			check: func(t *testing.T) { eq(t, read(path("w1")), "only\n") }},
		{name: "touch creates", fun: "file.touch", args: []any{path("t")}, want: "true",
			check: func(t *testing.T) { eq(t, read(path("t")), "") }},
		{name: "touch times", fun: "file.touch", args: []any{path("t")}, kw: map[string]any{"atime": int64(1000), "mtime": int64(2000)}, want: "true",
			check: func(t *testing.T) {
				st, _ := os.Stat(path("t"))
				sys := st.Sys().(*syscall.Stat_t)
				if sys.Atim.Sec != 1000 || sys.Mtim.Sec != 2000 {
					t.Errorf("atime %d mtime %d", sys.Atim.Sec, sys.Mtim.Sec)
				}
			}},
		{name: "set_mode string", fun: "file.set_mode", args: []any{path("t"), "0600"}, want: `"0600"`},
		{name: "set_mode cli number", fun: "file.set_mode", args: []any{path("t"), "mode=0644"}, want: `"0644"`},
		{name: "set_mode setgid", fun: "file.set_mode", args: []any{path("t"), "2750"}, want: `"2750"`},
		{name: "get_mode after set", fun: "file.get_mode", args: []any{path("t")}, want: `"2750"`},
		{name: "mkdir nested with mode", fun: "file.mkdir", args: []any{path("m/n/o")}, kw: map[string]any{"mode": "0700"}, want: "true",
			check: func(t *testing.T) {
				for _, d := range []string{"m", "m/n", "m/n/o"} {
					st, err := os.Stat(path(d))
					if err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
						t.Errorf("%s: %v %v", d, st.Mode(), err)
					}
				}
			}},
		{name: "mkdir existing", fun: "file.mkdir", args: []any{path("m")}, want: "true"},
		{name: "chown", fun: "file.chown", args: []any{path("t"), "nobody", "nogroup"}, want: "null",
			check: func(t *testing.T) {
				st, _ := os.Stat(path("t"))
				if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 65534 || sys.Gid != 65534 {
					t.Errorf("owner %d:%d", sys.Uid, sys.Gid)
				}
			}},
		{name: "mkdir owner", fun: "file.mkdir", args: []any{path("owned")}, kw: map[string]any{"user": "nobody"}, want: "true",
			check: func(t *testing.T) {
				st, _ := os.Stat(path("owned"))
				if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 65534 {
					t.Errorf("owner %d", sys.Uid)
				}
			}},
		{name: "remove file", fun: "file.remove", args: []any{path("w1")}, want: "true",
			check: func(t *testing.T) { notExist(t, path("w1")) }},
		{name: "remove tree", fun: "file.remove", args: []any{path("m")}, want: "true",
			check: func(t *testing.T) { notExist(t, path("m")) }},
	}
	// Sequential: later rows depend on earlier ones.
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if os.Getuid() != 0 && strings.Contains(tc.name, "chown") || os.Getuid() != 0 && strings.Contains(tc.name, "owner") {
				t.Skip("needs root")
			}
			ret, _, err := call(t, nil, tc.fun, tc.args, tc.kw)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && js(ret) != tc.want {
				t.Errorf("%s returned %s, want %s", tc.fun, js(ret), tc.want)
			}
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
}

func TestFileStats(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("hello\n"), 0o604); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "l")
	if err := os.Symlink(f, link); err != nil {
		t.Fatal(err)
	}
	v, _, err := call(t, nil, "file.stats", []any{link}, map[string]any{"hash_type": "md5"})
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	var st syscall.Stat_t
	if err := syscall.Stat(f, &st); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"inode", "uid", "gid", "user", "group", "target", "mode", "size", "atime", "mtime", "ctime", "type", "sum"} {
		if _, ok := m[k]; !ok {
			t.Errorf("stats lacks %q: %s", k, js(m))
		}
	}
	if m["inode"] != st.Ino || m["size"] != int64(6) || m["mode"] != "0604" || m["type"] != "file" ||
		m["target"] != f || m["sum"] != "b1946ac92492d2347c6235b4d2611184" || m["user"] != "root" && os.Getuid() == 0 {
		t.Errorf("stats = %s", js(m))
	}
	if mt := m["mtime"].(float64); int64(mt) != st.Mtim.Sec {
		t.Errorf("mtime %v, want %d", mt, st.Mtim.Sec)
	}
	v, _, err = call(t, nil, "file.stats", []any{link, "", false}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := v.(map[string]any); m["type"] != "link" || m["target"] != f {
		t.Errorf("lstat = %s", js(m))
	}
	v, _, _ = call(t, nil, "file.stats", []any{dir}, nil)
	if m := v.(map[string]any); m["type"] != "dir" {
		t.Errorf("dir stats = %s", js(m))
	}
}

func TestParseMode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   any
		want string
		err  bool
	}{
		{"0644", "0644", false}, {"644", "0644", false}, {"0o755", "0755", false}, {int64(644), "0644", false},
		{640.0, "0640", false}, {"4755", "4755", false}, {"1777", "1777", false}, {"0", "0000", false},
		{"0999", "", true}, {"17777", "", true}, {true, "", true}, {6.5, "", true},
	}
	for _, tc := range cases {
		m, err := fileperm.Parse(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("fileperm.Parse(%v) error %v", tc.in, err)
			continue
		}
		if !tc.err && fileperm.String(m) != tc.want {
			t.Errorf("fileperm.Parse(%v) = %s, want %s", tc.in, fileperm.String(m), tc.want)
		}
	}
	if got := fileperm.String(fs.ModeDir | 0o755); got != "0755" {
		t.Errorf("fileperm.String(dir 755) = %s", got)
	}
}

func eq(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func notExist(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("%s still exists (%v)", p, err)
	}
}
