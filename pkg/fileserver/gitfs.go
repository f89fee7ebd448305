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
	"path/filepath"
	"strings"
	"sync"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// GitRemote is one gitfs repository. Each branch and tag is an
// environment of the same name, except the base branch ("master", or
// "main" when there is no master), which serves "base".
type GitRemote struct {
	URL string
	// Root is a directory inside the repository to serve instead of its top.
	Root string
	// Base names the branch that serves the base environment.
	Base string
}

// gitBackend serves one remote from a local mirror updated by fetch.
type gitBackend struct {
	remote GitRemote
	repo   *git.Repository
	log    *slog.Logger

	mu sync.RWMutex // guards refs and hashes
	// refs maps environment to commit.
	refs map[string]plumbing.Hash
	// hashes memoizes sha256 by blob hash (blobs are immutable).
	hashes map[plumbing.Hash]string
}

func newGit(r GitRemote, cacheDir string, log *slog.Logger) (*gitBackend, error) {
	if r.URL == "" {
		return nil, errors.New("fileserver: gitfs remote without URL")
	}
	var (
		repo *git.Repository
		err  error
	)
	if cacheDir != "" {
		sum := sha256.Sum256([]byte(r.URL))
		dir := filepath.Join(cacheDir, "gitfs", hex.EncodeToString(sum[:8]))
		repo, err = git.PlainOpen(dir)
		if errors.Is(err, git.ErrRepositoryNotExists) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("fileserver: gitfs %s: %w", r.URL, err)
			}
			repo, err = git.PlainInit(dir, true)
		}
	} else {
		repo, err = git.Init(memory.NewStorage(), nil)
	}
	if err != nil {
		return nil, fmt.Errorf("fileserver: gitfs %s: %w", r.URL, err)
	}
	if _, err := repo.Remote("origin"); errors.Is(err, git.ErrRemoteNotFound) {
		_, err = repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{r.URL}})
		if err != nil {
			return nil, fmt.Errorf("fileserver: gitfs %s: %w", r.URL, err)
		}
	}
	g := &gitBackend{remote: r, repo: repo, log: log, refs: map[string]plumbing.Hash{}, hashes: map[plumbing.Hash]string{}}
	// A failed first fetch still returns the backend: it serves what an
	// on-disk mirror already has, and Update retries.
	return g, g.update(context.Background())
}

// update fetches branches and tags and recomputes the environments.
func (g *gitBackend) update(ctx context.Context) error {
	err := g.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"},
		Force:      true,
		Prune:      true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("fileserver: gitfs fetch %s: %w", g.remote.URL, err)
	}
	refs := map[string]plumbing.Hash{}
	iter, err := g.repo.References()
	if err != nil {
		return fmt.Errorf("fileserver: gitfs %s: %w", g.remote.URL, err)
	}
	var branches []string
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() != plumbing.HashReference {
			return nil
		}
		name := ref.Name()
		switch {
		case name.IsBranch():
			refs[name.Short()] = ref.Hash()
			branches = append(branches, name.Short())
		case name.IsTag():
			h := ref.Hash()
			if tag, err := g.repo.TagObject(h); err == nil {
				c, err := tag.Commit()
				if err != nil {
					return nil // a tag of a tree or blob is not an environment
				}
				h = c.Hash
			}
			if _, exists := refs[name.Short()]; !exists {
				refs[name.Short()] = h
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("fileserver: gitfs %s: %w", g.remote.URL, err)
	}
	base := g.remote.Base
	if base == "" {
		base = "master"
		if _, ok := refs["master"]; !ok {
			base = "main"
		}
	}
	if h, ok := refs[base]; ok {
		delete(refs, base)
		refs["base"] = h
	}
	g.mu.Lock()
	g.refs = refs
	g.mu.Unlock()
	g.log.Debug("gitfs updated", slog.String("url", g.remote.URL), slog.Int("envs", len(refs)))
	return nil
}

func (g *gitBackend) envs() []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]string, 0, len(g.refs))
	for e := range g.refs {
		out = append(out, e)
	}
	return out
}

func (g *gitBackend) tree(env string) (*object.Tree, string, error) {
	g.mu.RLock()
	h, ok := g.refs[env]
	g.mu.RUnlock()
	if !ok {
		return nil, "", ErrNotFound
	}
	c, err := g.repo.CommitObject(h)
	if err != nil {
		return nil, "", fmt.Errorf("fileserver: gitfs %s@%s: %w", g.remote.URL, env, err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, "", fmt.Errorf("fileserver: gitfs %s@%s: %w", g.remote.URL, env, err)
	}
	if g.remote.Root != "" {
		t, err = t.Tree(strings.Trim(g.remote.Root, "/"))
		if err != nil {
			return nil, "", ErrNotFound
		}
	}
	return t, g.remote.URL + "@" + env, nil
}

// file finds p, following symlinks that stay inside the tree.
func (g *gitBackend) file(env, p string) (*object.File, string, error) {
	t, src, err := g.tree(env)
	if err != nil {
		return nil, "", err
	}
	for hops := 0; hops < 8; hops++ {
		f, err := t.File(p)
		if errors.Is(err, object.ErrFileNotFound) || errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
			return nil, "", ErrNotFound
		}
		if err != nil {
			return nil, "", fmt.Errorf("fileserver: gitfs %s: %w", src, err)
		}
		if f.Mode != filemode.Symlink {
			return f, src, nil
		}
		target, err := f.Contents()
		if err != nil {
			return nil, "", err
		}
		if path.IsAbs(target) {
			return nil, "", fmt.Errorf("%w: symlink %s -> %s", ErrEscape, p, target)
		}
		next := path.Join(path.Dir(p), target)
		if next == ".." || strings.HasPrefix(next, "../") {
			return nil, "", fmt.Errorf("%w: symlink %s -> %s", ErrEscape, p, target)
		}
		p = next
	}
	return nil, "", fmt.Errorf("fileserver: too many symlinks at %s", p)
}

func (g *gitBackend) find(env, p string) (File, error) {
	f, src, err := g.file(env, p)
	if err != nil {
		return File{}, err
	}
	g.mu.RLock()
	h, ok := g.hashes[f.Hash]
	g.mu.RUnlock()
	if !ok {
		r, err := f.Reader()
		if err != nil {
			return File{}, err
		}
		h, _, err = hashReader(r)
		r.Close()
		if err != nil {
			return File{}, err
		}
		g.mu.Lock()
		g.hashes[f.Hash] = h
		g.mu.Unlock()
	}
	mode := fs.FileMode(0o644)
	if f.Mode == filemode.Executable {
		mode = 0o755
	}
	return File{Path: p, Hash: h, Size: f.Size, Mode: mode, Source: src}, nil
}

func (g *gitBackend) read(env, p string) ([]byte, error) {
	f, _, err := g.file(env, p)
	if err != nil {
		return nil, err
	}
	r, err := f.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func (g *gitBackend) list(env string) ([]string, error) {
	t, _, err := g.tree(env)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	err = t.Files().ForEach(func(f *object.File) error {
		if f.Mode != filemode.Symlink && f.Mode != filemode.Submodule {
			out = append(out, f.Name)
		}
		return nil
	})
	return out, err
}
