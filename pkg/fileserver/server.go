// Package fileserver serves salt:// files per environment (saltenv) from
// file_roots directories and from git repositories (gitfs), and caches them
// on minions by content hash. Every path is checked: "..", absolute paths
// and symlinks leading out of a root are refused with ErrEscape, whatever
// the backend.
//
// Lookup order for one environment: the file_roots directories of that
// environment in their configured order, then each gitfs remote in order;
// the first backend holding the path wins, as in Salt.
package fileserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/brine-project/brine/pkg/render"
)

// ErrNotFound is returned for a path no backend holds in the environment.
// It wraps fs.ErrNotExist, which is what file clients on the other side of
// the wire should return too (cp.* turns it into Salt's "" answer).
var ErrNotFound = fmt.Errorf("fileserver: file not found: %w", fs.ErrNotExist)

// ErrEscape is returned for a path that would leave its root.
var ErrEscape = errors.New("fileserver: path escapes the file root")

// ErrUnknownEnv is returned for an environment no backend serves.
var ErrUnknownEnv = errors.New("fileserver: unknown environment")

// Config configures a Server.
type Config struct {
	// FileRoots maps an environment to its directories, searched in order.
	FileRoots map[string][]string
	// GitFS lists git repositories whose branches and tags are environments.
	GitFS []GitRemote
	// CacheDir holds gitfs clones; empty keeps them in memory.
	CacheDir string
	Logger   *slog.Logger
}

// File describes one served file.
type File struct {
	Path   string      `json:"path"` // normalized salt path, "nginx/nginx.conf"
	Hash   string      `json:"hash"` // sha256, hex
	Size   int64       `json:"size"`
	Mode   fs.FileMode `json:"mode"`
	Source string      `json:"-"` // where it came from: a directory or "url@ref"
}

// backend is one source of files for some environments.
type backend interface {
	envs() []string
	find(env, p string) (File, error)
	read(env, p string) ([]byte, error)
	list(env string) ([]string, error)
}

// Server serves files from its backends. It is safe for concurrent use.
type Server struct {
	roots *rootsBackend
	git   []*gitBackend
	log   *slog.Logger
}

// New builds a Server and fetches every gitfs remote. A remote that cannot
// be fetched is reported in the error but kept: it serves what its on-disk
// mirror already holds and Update (or Run) retries it. The Server is
// usable whenever it is not nil.
func New(cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{roots: newRoots(cfg.FileRoots), log: log}
	var errs []error
	for _, r := range cfg.GitFS {
		g, err := newGit(r, cfg.CacheDir, log)
		if err != nil {
			errs = append(errs, err)
		}
		if g != nil {
			s.git = append(s.git, g)
		}
	}
	return s, errors.Join(errs...)
}

func (s *Server) backends() []backend {
	out := []backend{s.roots}
	for _, g := range s.git {
		out = append(out, g)
	}
	return out
}

// Envs lists every environment some backend serves, sorted.
func (s *Server) Envs() []string {
	set := map[string]bool{}
	for _, b := range s.backends() {
		for _, e := range b.envs() {
			set[e] = true
		}
	}
	out := make([]string, 0, len(set))
	for e := range set {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}

// CleanPath normalizes a salt:// URL or relative path ("salt://a/b",
// "a/./b") and refuses absolute paths and any ".." component.
func CleanPath(p string) (string, error) {
	p = strings.TrimPrefix(p, "salt://")
	// "salt://path?saltenv=prod" is how Salt pins an environment in a URL.
	p, _, _ = strings.Cut(p, "?")
	if p == "" || strings.ContainsRune(p, 0) || strings.Contains(p, "\\") {
		return "", fmt.Errorf("%w: %q", ErrEscape, p)
	}
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%w: absolute path %q", ErrEscape, p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %q", ErrEscape, p)
		}
	}
	c := path.Clean(p)
	if c == "." {
		return "", fmt.Errorf("%w: empty path", ErrEscape)
	}
	return c, nil
}

// EnvFromURL returns the saltenv a "salt://path?saltenv=x" URL pins, or def.
func EnvFromURL(url, def string) string {
	_, q, ok := strings.Cut(url, "?")
	if !ok {
		return def
	}
	for _, kv := range strings.Split(q, "&") {
		if k, v, _ := strings.Cut(kv, "="); (k == "saltenv" || k == "env") && v != "" {
			return v
		}
	}
	return def
}

func (s *Server) each(env, p string, fn func(b backend, clean string) error) error {
	clean, err := CleanPath(p)
	if err != nil {
		return err
	}
	known := false
	for _, b := range s.backends() {
		if !contains(b.envs(), env) {
			continue
		}
		known = true
		err := fn(b, clean)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if !known {
		return fmt.Errorf("%w: %q", ErrUnknownEnv, env)
	}
	return fmt.Errorf("%w: salt://%s in %s", ErrNotFound, clean, env)
}

// Find describes salt://p in env.
func (s *Server) Find(env, p string) (File, error) {
	var f File
	err := s.each(env, p, func(b backend, clean string) error {
		var err error
		f, err = b.find(env, clean)
		return err
	})
	return f, err
}

// Read returns the content of salt://p in env.
func (s *Server) Read(env, p string) ([]byte, error) {
	var data []byte
	err := s.each(env, p, func(b backend, clean string) error {
		var err error
		data, err = b.read(env, clean)
		return err
	})
	return data, err
}

// List returns the paths in env that start with prefix (a string prefix,
// as Salt's cp.list_master), sorted, each listed once even when several
// backends hold it.
func (s *Server) List(env, prefix string) ([]string, error) {
	prefix = strings.TrimPrefix(prefix, "salt://")
	if prefix != "" {
		if _, err := CleanPath(prefix); err != nil {
			return nil, err
		}
	}
	set := map[string]bool{}
	known := false
	for _, b := range s.backends() {
		if !contains(b.envs(), env) {
			continue
		}
		known = true
		paths, err := b.list(env)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			if strings.HasPrefix(p, prefix) {
				set[p] = true
			}
		}
	}
	if !known {
		return nil, fmt.Errorf("%w: %q", ErrUnknownEnv, env)
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// Stat and Fetch make the Server a Fetcher itself (masterless minions and
// tests use it directly).
func (s *Server) Stat(_ context.Context, env, p string) (string, error) {
	f, err := s.Find(env, p)
	return f.Hash, err
}

// Fetch returns the content of salt://p in env.
func (s *Server) Fetch(_ context.Context, env, p string) ([]byte, error) {
	return s.Read(env, p)
}

// ListFiles implements Lister.
func (s *Server) ListFiles(_ context.Context, env, prefix string) ([]string, error) {
	return s.List(env, prefix)
}

// Update fetches every gitfs remote; errors are joined, one per remote.
func (s *Server) Update(ctx context.Context) error {
	var errs []error
	for _, g := range s.git {
		if err := g.update(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run calls Update every interval until ctx ends, logging failures (a
// remote that keeps failing is logged once, then every tenth time).
func (s *Server) Run(ctx context.Context, every time.Duration) {
	if every <= 0 || len(s.git) == 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.Update(ctx); err != nil && ctx.Err() == nil {
			if failures%10 == 0 {
				s.log.Warn("gitfs update failed", slog.String("error", err.Error()), slog.Int("failures", failures+1))
			}
			failures++
			continue
		}
		failures = 0
	}
}

// Loader returns a render.Loader reading templates from env.
func (s *Server) Loader(env string) render.Loader { return serverLoader{s: s, env: env} }

type serverLoader struct {
	s   *Server
	env string
}

func (l serverLoader) Load(_ context.Context, p string) ([]byte, error) {
	b, err := l.s.Read(l.env, p)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", render.ErrNotFound, err)
	}
	return b, err
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// hashReader returns the sha256 hex of r's content and its length.
func hashReader(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// HashBytes returns the sha256 hex of b, the hash the file server uses.
func HashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// rootsBackend serves file_roots directories through os.Root, which
// refuses symlinks and ".." leading outside each directory.
type rootsBackend struct {
	roots map[string][]string
	mu    sync.Mutex // guards hashes
	// hashes memoizes content hashes by absolute path, size and mtime.
	hashes map[string]hashMemo
}

type hashMemo struct {
	size  int64
	mtime time.Time
	hash  string
}

func newRoots(roots map[string][]string) *rootsBackend {
	cp := map[string][]string{}
	for env, dirs := range roots {
		cp[env] = append([]string(nil), dirs...)
	}
	return &rootsBackend{roots: cp, hashes: map[string]hashMemo{}}
}

func (r *rootsBackend) envs() []string {
	out := make([]string, 0, len(r.roots))
	for e := range r.roots {
		out = append(out, e)
	}
	return out
}

// open opens p inside the first directory of env that has it.
func (r *rootsBackend) open(env, p string) (*os.File, string, error) {
	for _, dir := range r.roots[env] {
		root, err := os.OpenRoot(dir)
		if err != nil {
			continue // a missing directory holds nothing, as in Salt
		}
		f, err := root.Open(p)
		root.Close()
		if err == nil {
			st, err := f.Stat()
			if err != nil {
				f.Close()
				return nil, "", err
			}
			if st.IsDir() {
				f.Close()
				continue
			}
			return f, dir, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if isEscape(err) {
			return nil, "", fmt.Errorf("%w: %s", ErrEscape, p)
		}
		return nil, "", fmt.Errorf("fileserver: %s: %w", p, err)
	}
	return nil, "", ErrNotFound
}

func isEscape(err error) bool {
	// os.Root reports "path escapes from parent" for symlinks and ".." out.
	return err != nil && strings.Contains(err.Error(), "escapes")
}

func (r *rootsBackend) find(env, p string) (File, error) {
	f, dir, err := r.open(env, p)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return File{}, err
	}
	key := path.Join(dir, p)
	r.mu.Lock()
	m, ok := r.hashes[key]
	r.mu.Unlock()
	if !ok || m.size != st.Size() || !m.mtime.Equal(st.ModTime()) {
		h, _, err := hashReader(f)
		if err != nil {
			return File{}, fmt.Errorf("fileserver: hashing %s: %w", p, err)
		}
		m = hashMemo{size: st.Size(), mtime: st.ModTime(), hash: h}
		r.mu.Lock()
		r.hashes[key] = m
		r.mu.Unlock()
	}
	return File{Path: p, Hash: m.hash, Size: st.Size(), Mode: st.Mode().Perm(), Source: dir}, nil
}

func (r *rootsBackend) read(env, p string) ([]byte, error) {
	f, _, err := r.open(env, p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func (r *rootsBackend) list(env string) ([]string, error) {
	var out []string
	for _, dir := range r.roots[env] {
		root, err := os.OpenRoot(dir)
		if err != nil {
			continue
		}
		err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // unreadable entries are skipped, not fatal
			}
			if d.IsDir() {
				if p != "." && strings.HasPrefix(d.Name(), ".") {
					return fs.SkipDir // .git and friends are not served
				}
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				// Listed only if it resolves inside the root to a file.
				st, err := root.Stat(p)
				if err != nil || st.IsDir() {
					return nil
				}
			}
			out = append(out, p)
			return nil
		})
		root.Close()
		if err != nil {
			return nil, fmt.Errorf("fileserver: listing %s: %w", dir, err)
		}
	}
	return out, nil
}
