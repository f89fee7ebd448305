package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

func init() {
	Default.Register(&Func{Name: "git.latest", Doc: "Make target a checkout of rev from the repository name (clone, or fetch and update).", Args: []Arg{
		{Name: "target", Kind: String, Required: true}, {Name: "rev", Kind: String, Default: "HEAD"},
		{Name: "branch", Kind: String}, {Name: "remote", Kind: String, Default: "origin"},
		{Name: "force_reset", Kind: Any, Default: false, Doc: "discard local changes / non-fast-forward updates"},
		{Name: "force_clone", Kind: Bool, Default: false},
		{Name: "force_fetch", Kind: Bool, Default: true, Doc: "accepted: fetches are always forced"},
		{Name: "depth", Kind: Int}, {Name: "user", Kind: String, Doc: "owner given to the checkout"},
		{Name: "fetch_tags", Kind: Bool, Default: true, Doc: "accepted: tags are always fetched"},
	}, Run: gitLatest})
}

// gitWant is what rev resolved to on the remote.
type gitWant struct {
	hash   plumbing.Hash
	branch string // remote branch name when rev names one ("" for a tag or commit)
}

// resolveRemote finds rev among the remote's refs (ls-remote).
func resolveRemote(ctx context.Context, url, rev string) (gitWant, error) {
	rem := git.NewRemote(nil, &gitconfig.RemoteConfig{Name: "origin", URLs: []string{url}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{})
	if err != nil {
		return gitWant{}, fmt.Errorf("unable to list refs of %s: %w", url, err)
	}
	byName := map[plumbing.ReferenceName]*plumbing.Reference{}
	for _, r := range refs {
		byName[r.Name()] = r
	}
	deref := func(r *plumbing.Reference) *plumbing.Reference {
		for i := 0; r != nil && r.Type() == plumbing.SymbolicReference && i < 5; i++ {
			r = byName[r.Target()]
		}
		return r
	}
	if rev == "HEAD" || rev == "" {
		h := byName[plumbing.HEAD]
		if h == nil {
			return gitWant{}, fmt.Errorf("remote %s has no HEAD", url)
		}
		want := gitWant{}
		if h.Type() == plumbing.SymbolicReference && h.Target().IsBranch() {
			want.branch = h.Target().Short()
		}
		if r := deref(h); r != nil {
			want.hash = r.Hash()
		}
		if want.branch == "" {
			// No symref: pick the branch whose tip is HEAD's commit.
			for _, r := range refs {
				if r.Name().IsBranch() && r.Hash() == want.hash {
					want.branch = r.Name().Short()
					break
				}
			}
		}
		return want, nil
	}
	if r := deref(byName[plumbing.NewBranchReferenceName(rev)]); r != nil {
		return gitWant{hash: r.Hash(), branch: rev}, nil
	}
	if r := byName[plumbing.ReferenceName("refs/tags/"+rev+"^{}")]; r != nil {
		return gitWant{hash: r.Hash()}, nil
	}
	if r := byName[plumbing.NewTagReferenceName(rev)]; r != nil {
		return gitWant{hash: r.Hash()}, nil
	}
	if plumbing.IsHash(rev) {
		return gitWant{hash: plumbing.NewHash(rev)}, nil
	}
	return gitWant{}, fmt.Errorf("revision %s not found in %s", rev, url)
}

func gitLatest(ctx context.Context, c *Call) Ret {
	a := c.Args
	url, target := c.Name, filepath.Clean(a.String("target"))
	rev := a.String("rev")
	if !filepath.IsAbs(target) {
		return Ret{Result: False, Comment: fmt.Sprintf("target %q is not an absolute path", target)}
	}
	want, err := resolveRemote(ctx, url, rev)
	if err != nil && c.Test {
		// An earlier state of this run may create or start the remote.
		return Ret{Result: None, Changes: map[string]any{"revision": map[string]any{"old": nil, "new": rev}},
			Comment: fmt.Sprintf("%s would be checked out at %s; the remote cannot be read now: %v", target, rev, err)}
	}
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	repo, err := git.PlainOpen(target)
	switch {
	case errors.Is(err, git.ErrRepositoryNotExists):
		entries, rerr := os.ReadDir(target)
		if rerr == nil && len(entries) > 0 && !a.Bool("force_clone") {
			return Ret{Result: False, Comment: fmt.Sprintf("Target directory %s exists and is not empty and not a git repository; set force_clone to replace it", target)}
		}
		return gitClone(ctx, c, url, target, want, rerr == nil)
	case err != nil:
		return Ret{Result: False, Comment: err.Error()}
	}
	return gitUpdate(ctx, c, repo, url, target, want)
}

func gitClone(ctx context.Context, c *Call, url, target string, want gitWant, exists bool) Ret {
	a := c.Args
	ch := map[string]any{"new": url + " => " + target, "revision": map[string]any{"old": nil, "new": want.hash.String()}}
	if c.Test {
		return Ret{Result: None, Changes: ch, Comment: fmt.Sprintf("%s would be cloned to %s", url, target)}
	}
	if exists {
		if err := os.RemoveAll(target); err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
	}
	opts := &git.CloneOptions{URL: url, RemoteName: a.String("remote"), NoCheckout: true, Tags: git.AllTags}
	if d := a.Int("depth"); d > 0 {
		opts.Depth = int(d)
		if want.branch != "" {
			opts.ReferenceName = plumbing.NewBranchReferenceName(want.branch)
			opts.SingleBranch = true
		}
	}
	repo, err := git.PlainCloneContext(ctx, target, false, opts)
	if err != nil {
		os.RemoveAll(target)
		return Ret{Result: False, Comment: fmt.Sprintf("Clone of %s failed: %v", url, err)}
	}
	if err := gitCheckout(repo, want, a.String("branch")); err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if err := chownTree(target, a.String("user")); err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	return Ret{Result: True, Changes: ch, Comment: fmt.Sprintf("Repository %s cloned to %s", url, target)}
}

// gitCheckout points HEAD (a local branch named like the remote one, or
// detached for a tag or commit) at want and resets the worktree to it.
func gitCheckout(repo *git.Repository, want gitWant, localBranch string) error {
	if localBranch == "" {
		localBranch = want.branch
	}
	if localBranch != "" {
		ref := plumbing.NewBranchReferenceName(localBranch)
		if err := repo.Storer.SetReference(plumbing.NewHashReference(ref, want.hash)); err != nil {
			return err
		}
		if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, ref)); err != nil {
			return err
		}
	} else if err := repo.Storer.SetReference(plumbing.NewHashReference(plumbing.HEAD, want.hash)); err != nil {
		return err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	if err := wt.Reset(&git.ResetOptions{Commit: want.hash, Mode: git.HardReset}); err != nil {
		return fmt.Errorf("checkout of %s failed: %w", want.hash, err)
	}
	return nil
}

func gitUpdate(ctx context.Context, c *Call, repo *git.Repository, url, target string, want gitWant) Ret {
	a := c.Args
	remoteName := a.String("remote")
	ch := map[string]any{}
	rem, err := repo.Remote(remoteName)
	if err == nil && (len(rem.Config().URLs) == 0 || rem.Config().URLs[0] != url) {
		ch["remote"] = map[string]any{"old": strings.Join(rem.Config().URLs, " "), "new": url}
	}
	if errors.Is(err, git.ErrRemoteNotFound) {
		ch["remote"] = map[string]any{"old": nil, "new": url}
	}
	head, err := repo.Head()
	var old plumbing.Hash
	if err == nil {
		old = head.Hash()
	}
	branchOK := true
	lb := a.String("branch")
	if lb == "" {
		lb = want.branch
	}
	if lb != "" && (head == nil || head.Name() != plumbing.NewBranchReferenceName(lb)) {
		branchOK = false
	}
	if old == want.hash && branchOK && len(ch) == 0 {
		return Ret{Result: True, Comment: fmt.Sprintf("Repository %s is up-to-date", target)}
	}
	force := truthy(a.Get("force_reset")) || scalarString(a.Get("force_reset")) == "remote-changes"
	wt, err := repo.Worktree()
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	dirty, err := trackedChanges(wt)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if old != want.hash {
		ch["revision"] = map[string]any{"old": old.String(), "new": want.hash.String()}
	}
	if !branchOK {
		ch["branch"] = lb
	}
	if c.Test {
		msg := fmt.Sprintf("Repository %s would be updated to %s", target, want.hash)
		if len(dirty) > 0 && !force {
			msg += fmt.Sprintf("; but local changes (%s) would block it unless force_reset is set", strings.Join(dirty, ", "))
		}
		return Ret{Result: None, Changes: ch, Comment: msg}
	}
	if _, ok := ch["remote"]; ok {
		_ = repo.DeleteRemote(remoteName)
		if _, err := repo.CreateRemote(&gitconfig.RemoteConfig{Name: remoteName, URLs: []string{url}}); err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
	}
	err = repo.FetchContext(ctx, &git.FetchOptions{RemoteName: remoteName, Force: true, Tags: git.AllTags,
		RefSpecs: []gitconfig.RefSpec{gitconfig.RefSpec("+refs/heads/*:refs/remotes/" + remoteName + "/*")}})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return Ret{Result: False, Comment: fmt.Sprintf("Fetch from %s failed: %v", url, err)}
	}
	if len(dirty) > 0 && !force {
		return Ret{Result: False, Changes: map[string]any{}, Comment: fmt.Sprintf("Local changes in %s (%s) would be lost; set force_reset to discard them", target, strings.Join(dirty, ", "))}
	}
	if !old.IsZero() && old != want.hash && !force {
		oc, err1 := repo.CommitObject(old)
		nc, err2 := repo.CommitObject(want.hash)
		if err1 == nil && err2 == nil {
			if ff, _ := oc.IsAncestor(nc); !ff {
				return Ret{Result: False, Changes: map[string]any{}, Comment: fmt.Sprintf("Repository %s cannot be fast-forwarded from %s to %s; set force_reset to reset it", target, old, want.hash)}
			}
		}
	}
	if err := gitCheckout(repo, want, a.String("branch")); err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if err := chownTree(target, a.String("user")); err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	return Ret{Result: True, Changes: ch, Comment: fmt.Sprintf("Repository %s updated", target)}
}

// trackedChanges lists modified tracked files (untracked files do not
// block an update, as in Salt).
func trackedChanges(wt *git.Worktree) ([]string, error) {
	st, err := wt.Status()
	if err != nil {
		return nil, err
	}
	var out []string
	for path, s := range st {
		if s.Worktree == git.Untracked && s.Staging == git.Untracked {
			continue
		}
		if s.Worktree != git.Unmodified || s.Staging != git.Unmodified {
			out = append(out, path)
		}
	}
	return out, nil
}

// chownTree gives the checkout to user (git.latest's user argument).
func chownTree(root, user string) error {
	if user == "" {
		return nil
	}
	uid, err := lookupUID(user)
	if err != nil {
		return err
	}
	gid := -1
	if u, err := lookupUserGID(user); err == nil {
		gid = u
	}
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
