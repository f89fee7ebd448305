package fileserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/brine-project/brine/pkg/render"
)

// Fetcher is how a minion's Cache reaches the master's file server (the
// daemon implements it over the encrypted request channel; *Server
// implements it locally).
type Fetcher interface {
	// Stat returns the sha256 hex of salt://path in env.
	Stat(ctx context.Context, env, path string) (hash string, err error)
	// Fetch returns the content of salt://path in env.
	Fetch(ctx context.Context, env, path string) ([]byte, error)
}

// Lister is an optional ability of a Fetcher, needed by GetDir and
// ListMaster: the master's paths in env starting with prefix.
type Lister interface {
	ListFiles(ctx context.Context, env, prefix string) ([]string, error)
}

// Cache keeps files fetched from the master under dir/files/<env>/<path>
// (Salt's layout) and downloads a file again only when the master's hash
// differs from the cached copy's.
type Cache struct {
	dir   string
	fetch Fetcher

	mu sync.Mutex // guards memo
	// memo remembers the hash of cached files by local path, size and
	// mtime, so an unchanged file is not re-read to compare hashes.
	memo map[string]hashMemo
	// locks serializes work on one local path.
	locks sync.Map
}

// NewCache returns a cache rooted at dir.
func NewCache(dir string, fetch Fetcher) *Cache {
	return &Cache{dir: dir, fetch: fetch, memo: map[string]hashMemo{}}
}

// Dir returns the cache's root directory.
func (c *Cache) Dir() string { return c.dir }

// LocalPath is where salt://p of env is (or would be) cached.
func (c *Cache) LocalPath(url, env string) (string, error) {
	p, err := CleanPath(url)
	if err != nil {
		return "", err
	}
	if _, err := CleanPath(env); err != nil || strings.Contains(env, "/") {
		return "", fmt.Errorf("%w: bad environment name %q", ErrEscape, env)
	}
	return filepath.Join(c.dir, "files", env, filepath.FromSlash(p)), nil
}

// GetFile makes sure salt://path (url) of env is cached and current, and
// returns its local path. Only the hash crosses the wire when the cached
// copy is current. env may be overridden by "?saltenv=" in the URL.
func (c *Cache) GetFile(ctx context.Context, url, env string) (string, error) {
	env = EnvFromURL(url, env)
	local, err := c.LocalPath(url, env)
	if err != nil {
		return "", err
	}
	p, _ := CleanPath(url)
	unlock := c.lock(local)
	defer unlock()
	remote, err := c.fetch.Stat(ctx, env, p)
	if err != nil {
		return "", fmt.Errorf("fileserver: stat salt://%s in %s: %w", p, env, err)
	}
	if h, ok := c.localHash(local); ok && h == remote {
		return local, nil
	}
	data, err := c.fetch.Fetch(ctx, env, p)
	if err != nil {
		return "", fmt.Errorf("fileserver: fetch salt://%s in %s: %w", p, env, err)
	}
	if got := HashBytes(data); got != remote {
		// The file changed between Stat and Fetch; what we got is still a
		// consistent version of it.
		remote = got
	}
	if err := writeAtomic(local, data); err != nil {
		return "", err
	}
	if st, err := os.Stat(local); err == nil {
		c.mu.Lock()
		c.memo[local] = hashMemo{size: st.Size(), mtime: st.ModTime(), hash: remote}
		c.mu.Unlock()
	}
	return local, nil
}

// GetDir caches every file under salt://dir of env and returns their local
// paths.
func (c *Cache) GetDir(ctx context.Context, url, env string) ([]string, error) {
	env = EnvFromURL(url, env)
	dir, err := CleanPath(url)
	if err != nil {
		return nil, err
	}
	files, err := c.ListMaster(ctx, env, dir+"/")
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(files))
	for _, f := range files {
		local, err := c.GetFile(ctx, f, env)
		if err != nil {
			return out, err
		}
		out = append(out, local)
	}
	return out, nil
}

// ListMaster lists the master's files in env under prefix.
func (c *Cache) ListMaster(ctx context.Context, env, prefix string) ([]string, error) {
	l, ok := c.fetch.(Lister)
	if !ok {
		return nil, errors.New("fileserver: this file client cannot list the master's files")
	}
	return l.ListFiles(ctx, env, strings.TrimPrefix(prefix, "salt://"))
}

// HashFile returns the master's hash of salt://path in env.
func (c *Cache) HashFile(ctx context.Context, url, env string) (string, error) {
	env = EnvFromURL(url, env)
	p, err := CleanPath(url)
	if err != nil {
		return "", err
	}
	return c.fetch.Stat(ctx, env, p)
}

// Loader returns a render.Loader that reads templates of env through the
// cache (so include/import fetch only what changed).
func (c *Cache) Loader(env string) render.Loader { return cacheLoader{c: c, env: env} }

type cacheLoader struct {
	c   *Cache
	env string
}

func (l cacheLoader) Load(ctx context.Context, p string) ([]byte, error) {
	local, err := l.c.GetFile(ctx, p, l.env)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", render.ErrNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	return os.ReadFile(local)
}

func (c *Cache) localHash(local string) (string, bool) {
	st, err := os.Stat(local)
	if err != nil || !st.Mode().IsRegular() {
		return "", false
	}
	c.mu.Lock()
	m, ok := c.memo[local]
	c.mu.Unlock()
	if ok && m.size == st.Size() && m.mtime.Equal(st.ModTime()) {
		return m.hash, true
	}
	f, err := os.Open(local)
	if err != nil {
		return "", false
	}
	defer f.Close()
	h, _, err := hashReader(f)
	if err != nil {
		return "", false
	}
	c.mu.Lock()
	c.memo[local] = hashMemo{size: st.Size(), mtime: st.ModTime(), hash: h}
	c.mu.Unlock()
	return h, true
}

func (c *Cache) lock(key string) func() {
	v, _ := c.locks.LoadOrStore(key, &sync.Mutex{})
	m := v.(*sync.Mutex)
	m.Lock()
	return m.Unlock
}

// writeAtomic writes data to path through a temporary file and rename, so
// a reader never sees half a file.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("fileserver: cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("fileserver: cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("fileserver: cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("fileserver: cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("fileserver: cache: %w", err)
	}
	return nil
}
