package module

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Git execution functions on go-git (no git binary needed).

func init() {
	Default.Register(&Func{Name: "git.clone", Doc: "Clone url into cwd (or cwd/name); return True.", Args: []Arg{
		{Name: "cwd", Kind: String, Required: true, Doc: "where to clone (absolute), or the parent directory when name is given"},
		{Name: "url", Kind: String, Required: true}, {Name: "name", Kind: String, Doc: "directory created under cwd"},
		{Name: "opts", Kind: String, KwOnly: true, Doc: "only --depth N and --branch B / -b B are understood"},
	}, Run: gitCloneFn})
	Default.Register(&Func{Name: "git.revision", Doc: "Return the commit a revision of the checkout at cwd names.", Args: []Arg{
		{Name: "cwd", Kind: String, Required: true}, {Name: "rev", Kind: String, Default: "HEAD"},
	}, Run: func(_ context.Context, _ *Env, a *Args) (any, error) {
		repo, err := git.PlainOpen(a.String("cwd"))
		if err != nil {
			return nil, fmt.Errorf("module: git.revision: %w", err)
		}
		h, err := repo.ResolveRevision(plumbing.Revision(a.String("rev")))
		if err != nil {
			return nil, fmt.Errorf("module: git.revision: %w", err)
		}
		return h.String(), nil
	}})
}

func gitCloneFn(ctx context.Context, _ *Env, a *Args) (any, error) {
	dest := a.String("cwd")
	if n := a.String("name"); n != "" {
		dest = filepath.Join(dest, n)
	}
	if !filepath.IsAbs(dest) {
		return nil, badArg("git.clone", "cwd", "must be an absolute path")
	}
	opts := &git.CloneOptions{URL: a.String("url"), Tags: git.AllTags}
	words := strings.Fields(a.String("opts"))
	for i := 0; i < len(words); i++ {
		switch w := words[i]; {
		case (w == "--branch" || w == "-b") && i+1 < len(words):
			opts.ReferenceName = plumbing.NewBranchReferenceName(words[i+1])
			i++
		case w == "--depth" && i+1 < len(words):
			fmt.Sscan(words[i+1], &opts.Depth)
			i++
		default:
			return nil, badArg("git.clone", "opts", "unsupported option %q", w)
		}
	}
	if _, err := git.PlainCloneContext(ctx, dest, false, opts); err != nil {
		return nil, fmt.Errorf("module: git.clone %s: %w", opts.URL, err)
	}
	return true, nil
}
