package fileserver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// rootsFixture makes two base directories and one prod directory.
func rootsFixture(t *testing.T) (*Server, string, string) {
	t.Helper()
	tmp := t.TempDir()
	first, second, prod := filepath.Join(tmp, "first"), filepath.Join(tmp, "second"), filepath.Join(tmp, "prod")
	write(t, filepath.Join(first, "nginx/nginx.conf"), "first wins\n")
	write(t, filepath.Join(second, "nginx/nginx.conf"), "shadowed\n")
	write(t, filepath.Join(second, "nginx/mime.types"), "types\n")
	write(t, filepath.Join(second, "top.sls"), "base: {}\n")
	write(t, filepath.Join(first, ".git/config"), "hidden\n")
	write(t, filepath.Join(prod, "nginx/nginx.conf"), "prod\n")
	write(t, filepath.Join(tmp, "secret"), "outside\n")
	if err := os.Symlink(filepath.Join(tmp, "secret"), filepath.Join(first, "leak")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nginx/nginx.conf", filepath.Join(first, "alias.conf")); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{FileRoots: map[string][]string{
		"base": {first, filepath.Join(tmp, "missing"), second},
		"prod": {prod},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s, first, second
}

func TestRootsFind(t *testing.T) {
	s, first, _ := rootsFixture(t)
	tests := []struct {
		name, env, path, want string
	}{
		{"first directory wins", "base", "nginx/nginx.conf", "first wins\n"},
		{"falls through to second", "base", "salt://nginx/mime.types", "types\n"},
		{"other environment", "prod", "nginx/nginx.conf", "prod\n"},
		{"symlink inside root", "base", "alias.conf", "first wins\n"},
		{"dot segments", "base", "nginx/./nginx.conf", "first wins\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Read(tt.env, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			f, err := s.Find(tt.env, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if f.Hash != HashBytes(got) || f.Size != int64(len(got)) || f.Mode != 0o644 {
				t.Fatalf("find = %+v, want hash %s size %d mode 0644", f, HashBytes(got), len(got))
			}
		})
	}
	// The hash follows content changes (memo keyed by size and mtime).
	write(t, filepath.Join(first, "nginx/nginx.conf"), "changed content\n")
	f, err := s.Find("base", "nginx/nginx.conf")
	if err != nil || f.Hash != HashBytes([]byte("changed content\n")) {
		t.Fatalf("after change: %+v %v", f, err)
	}
}

func TestRefusedPaths(t *testing.T) {
	s, _, _ := rootsFixture(t)
	tests := []struct {
		name, env, path string
		want            error
	}{
		{"parent", "base", "../secret", ErrEscape},
		{"parent inside", "base", "nginx/../../secret", ErrEscape},
		{"absolute", "base", "/etc/passwd", ErrEscape},
		{"salt url parent", "base", "salt://../secret", ErrEscape},
		{"symlink out of root", "base", "leak", ErrEscape},
		{"empty", "base", "", ErrEscape},
		{"missing", "base", "nope.txt", ErrNotFound},
		{"directory", "base", "nginx", ErrNotFound},
		{"unknown env", "qa", "top.sls", ErrUnknownEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Read(tt.env, tt.path); !errors.Is(err, tt.want) {
				t.Fatalf("Read: got %v, want %v", err, tt.want)
			}
			if _, err := s.Find(tt.env, tt.path); !errors.Is(err, tt.want) {
				t.Fatalf("Find: got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRootsList(t *testing.T) {
	s, _, _ := rootsFixture(t)
	tests := []struct {
		name, env, prefix string
		want              []string
	}{
		{"everything", "base", "", []string{"alias.conf", "nginx/mime.types", "nginx/nginx.conf", "top.sls"}},
		{"prefix", "base", "nginx/", []string{"nginx/mime.types", "nginx/nginx.conf"}},
		{"salt url prefix", "base", "salt://nginx/m", []string{"nginx/mime.types"}},
		{"prod", "prod", "", []string{"nginx/nginx.conf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.List(tt.env, tt.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := s.List("base", "../"); !errors.Is(err, ErrEscape) {
		t.Fatalf("list ../: %v", err)
	}
	if got := s.Envs(); !reflect.DeepEqual(got, []string{"base", "prod"}) {
		t.Fatalf("envs %v", got)
	}
}

func TestLoader(t *testing.T) {
	s, _, _ := rootsFixture(t)
	b, err := s.Loader("base").Load(context.Background(), "top.sls")
	if err != nil || string(b) != "base: {}\n" {
		t.Fatalf("load: %q %v", b, err)
	}
	if _, err := s.Loader("base").Load(context.Background(), "none.sls"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}
