package fileserver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// countingFetcher wraps a Server and counts what crosses the "wire".
type countingFetcher struct {
	s                    *Server
	stats, fetches       int
	hashBytes, fileBytes int
}

func (c *countingFetcher) Stat(ctx context.Context, env, p string) (string, error) {
	c.stats++
	h, err := c.s.Stat(ctx, env, p)
	c.hashBytes += len(h)
	return h, err
}

func (c *countingFetcher) Fetch(ctx context.Context, env, p string) ([]byte, error) {
	c.fetches++
	b, err := c.s.Fetch(ctx, env, p)
	c.fileBytes += len(b)
	return b, err
}

func (c *countingFetcher) ListFiles(ctx context.Context, env, prefix string) ([]string, error) {
	return c.s.ListFiles(ctx, env, prefix)
}

func TestCacheDownloadsOnlyChanges(t *testing.T) {
	ctx := context.Background()
	s, first, _ := rootsFixture(t)
	f := &countingFetcher{s: s}
	c := NewCache(t.TempDir(), f)

	local, err := c.GetFile(ctx, "salt://nginx/nginx.conf", "base")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(c.Dir(), "files", "base", "nginx", "nginx.conf"); local != want {
		t.Fatalf("local path %s, want %s", local, want)
	}
	if b, _ := os.ReadFile(local); string(b) != "first wins\n" {
		t.Fatalf("content %q", b)
	}
	if f.fetches != 1 || f.fileBytes != len("first wins\n") {
		t.Fatalf("first get: %d fetches, %d bytes", f.fetches, f.fileBytes)
	}

	// Unchanged: only the hash crosses.
	f.fileBytes, f.hashBytes = 0, 0
	if _, err := c.GetFile(ctx, "salt://nginx/nginx.conf", "base"); err != nil {
		t.Fatal(err)
	}
	if f.fetches != 1 || f.fileBytes != 0 || f.hashBytes != 64 {
		t.Fatalf("second get: %d fetches, %d file bytes, %d hash bytes; want 1, 0, 64", f.fetches, f.fileBytes, f.hashBytes)
	}

	// A fresh cache object over the same directory also reuses the file.
	c2 := NewCache(c.Dir(), f)
	if _, err := c2.GetFile(ctx, "nginx/nginx.conf", "base"); err != nil || f.fetches != 1 {
		t.Fatalf("new cache instance: %v, fetches %d", err, f.fetches)
	}

	// Changed on the master: fetched again.
	write(t, filepath.Join(first, "nginx/nginx.conf"), "new version\n")
	if _, err := c.GetFile(ctx, "salt://nginx/nginx.conf", "base"); err != nil || f.fetches != 2 {
		t.Fatalf("after change: %v, fetches %d", err, f.fetches)
	}
	// Tampered locally: fetched again.
	if err := os.WriteFile(local, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetFile(ctx, "salt://nginx/nginx.conf", "base"); err != nil || f.fetches != 3 {
		t.Fatalf("after tamper: %v, fetches %d", err, f.fetches)
	}
	if b, _ := os.ReadFile(local); string(b) != "new version\n" {
		t.Fatalf("content %q", b)
	}
}

func TestCacheDirEnvAndErrors(t *testing.T) {
	ctx := context.Background()
	s, _, _ := rootsFixture(t)
	c := NewCache(t.TempDir(), &countingFetcher{s: s})
	got, err := c.GetDir(ctx, "salt://nginx", "base")
	if err != nil || len(got) != 2 {
		t.Fatalf("get_dir: %v %v", got, err)
	}
	local, err := c.GetFile(ctx, "salt://nginx/nginx.conf?saltenv=prod", "base")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(local); string(b) != "prod\n" {
		t.Fatalf("saltenv in url: %q", b)
	}
	tests := []struct {
		name, url, env string
		want           error
	}{
		{"escape", "salt://../../etc/passwd", "base", ErrEscape},
		{"bad env", "salt://top.sls", "../x", ErrEscape},
		{"missing", "salt://nope", "base", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.GetFile(ctx, tt.url, tt.env); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	h, err := c.HashFile(ctx, "salt://top.sls", "base")
	if err != nil || h != HashBytes([]byte("base: {}\n")) {
		t.Fatalf("hash_file %s %v", h, err)
	}
	b, err := c.Loader("base").Load(ctx, "top.sls")
	if err != nil || string(b) != "base: {}\n" {
		t.Fatalf("loader %q %v", b, err)
	}
}

// BenchmarkGetFileUnchanged is the cost of cp.get_file for a cached,
// unchanged 64 KiB file: a hash comparison, no transfer.
func BenchmarkGetFileUnchanged(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, 64<<10), 0o644); err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{FileRoots: map[string][]string{"base": {dir}}})
	if err != nil {
		b.Fatal(err)
	}
	f := &countingFetcher{s: s}
	c := NewCache(b.TempDir(), f)
	ctx := context.Background()
	if _, err := c.GetFile(ctx, "salt://big", "base"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetFile(ctx, "salt://big", "base"); err != nil {
			b.Fatal(err)
		}
	}
	if f.fetches != 1 {
		b.Fatalf("fetched %d times", f.fetches)
	}
}
