package fileserver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// gitRepo is a work tree made with go-git, standing in for a remote.
type gitRepo struct {
	t    *testing.T
	dir  string
	repo *git.Repository
	wt   *git.Worktree
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	return &gitRepo{t: t, dir: dir, repo: repo, wt: wt}
}

func (g *gitRepo) commit(files map[string]string) plumbing.Hash {
	g.t.Helper()
	for p, content := range files {
		write(g.t, filepath.Join(g.dir, p), content)
		if _, err := g.wt.Add(p); err != nil {
			g.t.Fatal(err)
		}
	}
	h, err := g.wt.Commit("update", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(1700000000, 0)}})
	if err != nil {
		g.t.Fatal(err)
	}
	return h
}

func (g *gitRepo) checkout(branch string, create bool) {
	g.t.Helper()
	err := g.wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(branch), Create: create})
	if err != nil {
		g.t.Fatal(err)
	}
}

func TestGitBranchesAreEnvironments(t *testing.T) {
	r := newGitRepo(t)
	first := r.commit(map[string]string{"app/config.txt": "base config\n", "top.sls": "base: {}\n"})
	if _, err := r.repo.CreateTag("v1", first, nil); err != nil {
		t.Fatal(err)
	}
	r.checkout("prod", true)
	r.commit(map[string]string{"app/config.txt": "prod config\n"})
	r.checkout("master", false)
	r.checkout("test", true)
	r.commit(map[string]string{"app/config.txt": "test config\n", "app/extra.txt": "only in test\n"})

	for _, cacheDir := range []string{"", t.TempDir()} {
		name := "memory"
		if cacheDir != "" {
			name = "on disk"
		}
		t.Run(name, func(t *testing.T) {
			s, err := New(Config{GitFS: []GitRemote{{URL: r.dir}}, CacheDir: cacheDir})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := s.Envs(), []string{"base", "prod", "test", "v1"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("envs %v, want %v", got, want)
			}
			for env, want := range map[string]string{"base": "base config\n", "prod": "prod config\n", "test": "test config\n", "v1": "base config\n"} {
				got, err := s.Read(env, "salt://app/config.txt")
				if err != nil || string(got) != want {
					t.Fatalf("%s: got %q %v, want %q", env, got, err, want)
				}
				f, err := s.Find(env, "app/config.txt")
				if err != nil || f.Hash != HashBytes([]byte(want)) {
					t.Fatalf("%s: find %+v %v", env, f, err)
				}
			}
			if _, err := s.Read("prod", "app/extra.txt"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("extra in prod: %v", err)
			}
			if got, _ := s.List("test", "app/"); !reflect.DeepEqual(got, []string{"app/config.txt", "app/extra.txt"}) {
				t.Fatalf("list test: %v", got)
			}
			if _, err := s.Read("prod", "../x"); !errors.Is(err, ErrEscape) {
				t.Fatalf("escape: %v", err)
			}
		})
	}
}

func TestGitUpdateAndPrecedence(t *testing.T) {
	r := newGitRepo(t)
	r.commit(map[string]string{"motd": "from git v1\n", "git-only": "g\n"})
	roots := t.TempDir()
	write(t, filepath.Join(roots, "motd"), "from roots\n")
	s, err := New(Config{FileRoots: map[string][]string{"base": {roots}}, GitFS: []GitRemote{{URL: "file://" + r.dir}}})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Read("base", "motd"); string(b) != "from roots\n" {
		t.Fatalf("roots should win, got %q", b)
	}
	if b, _ := s.Read("base", "git-only"); string(b) != "g\n" {
		t.Fatalf("git-only: %q", b)
	}
	r.commit(map[string]string{"git-only": "g2\n"})
	r.checkout("feature", true)
	r.commit(map[string]string{"new": "n\n"})
	if b, _ := s.Read("base", "git-only"); string(b) != "g\n" {
		t.Fatalf("changed before Update: %q", b)
	}
	if err := s.Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Read("base", "git-only"); string(b) != "g2\n" {
		t.Fatalf("after update: %q", b)
	}
	if b, err := s.Read("feature", "new"); err != nil || string(b) != "n\n" {
		t.Fatalf("new branch: %q %v", b, err)
	}
}

func TestGitRemoteRecovers(t *testing.T) {
	r := newGitRepo(t)
	url := filepath.Join(t.TempDir(), "later")
	s, err := New(Config{GitFS: []GitRemote{{URL: url}}})
	if err == nil || s == nil {
		t.Fatalf("want a usable server and an error for a missing repository, got %v %v", s, err)
	}
	if len(s.Envs()) != 0 {
		t.Fatalf("envs %v", s.Envs())
	}
	// The remote appears later: Update picks it up.
	r.commit(map[string]string{"f": "x\n"})
	if err := os.Rename(r.dir, url); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Read("base", "f"); err != nil || string(b) != "x\n" {
		t.Fatalf("after update: %q %v", b, err)
	}
}
