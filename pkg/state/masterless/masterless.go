// Package masterless wires the state system to Brine's real renderer
// (pkg/render: jinja|yaml and friends) and target matcher (pkg/target), so
// a minion can apply states from local file_roots without a master, as
// salt-call --local does. The daemon uses the same Renderer and Matcher
// with a file client that fetches salt:// from the master instead.
package masterless

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/brine-project/brine/pkg/render"
	"github.com/brine-project/brine/pkg/state"
	"github.com/brine-project/brine/pkg/target"
)

// Renderer implements state.Renderer with pkg/render; templates load
// includes and imports through Files, and salt['...'] calls go to Caller.
type Renderer struct {
	Files state.FileClient
	// Caller answers salt['...'] calls; when nil, the run's caller
	// (RenderInput.Caller) is used.
	Caller state.Caller
}

// loader reads templates from the file client of one environment.
type loader struct {
	ctx     context.Context
	files   state.FileClient
	saltenv string
}

func (l loader) Load(ctx context.Context, p string) ([]byte, error) {
	p = strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(p, "salt://")), "/")
	local, err := l.files.GetFile(ctx, "salt://"+p, l.saltenv)
	if state.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s", render.ErrNotFound, p)
	}
	if err != nil {
		return nil, err
	}
	return os.ReadFile(local)
}

func (r Renderer) context(in state.RenderInput) render.Context {
	c := render.Context{Grains: in.Grains, Pillar: in.Pillar, Opts: in.Opts, Saltenv: in.Saltenv, SLS: in.SLS, Extra: in.Vars}
	switch {
	case r.Caller != nil:
		c.Salt = r.Caller
	case in.Caller != nil:
		c.Salt = in.Caller
	}
	return c
}

func name(in state.RenderInput) string {
	return strings.TrimPrefix(in.Source, "salt://")
}

// RenderSLS implements state.Renderer.
func (r Renderer) RenderSLS(ctx context.Context, src []byte, in state.RenderInput) (any, error) {
	return render.Render(ctx, name(in), src, r.context(in), loader{ctx, r.Files, in.Saltenv})
}

// RenderTemplate implements state.Renderer.
func (r Renderer) RenderTemplate(ctx context.Context, engine string, src []byte, in state.RenderInput) (string, error) {
	return render.RenderText(ctx, name(in), src, r.context(in), loader{ctx, r.Files, in.Saltenv}, engine)
}

// Matcher implements state.TopMatcher with pkg/target (every target type,
// nodegroups from the master config when given).
type Matcher struct {
	Nodegroups map[string]string
}

// MatchTop implements state.TopMatcher.
func (m Matcher) MatchTop(_ context.Context, tgt, tgtType string, mn state.Minion) (bool, error) {
	tm := target.Matcher{Nodegroups: m.Nodegroups}
	return tm.Match(tgt, tgtType, target.Minion{ID: mn.ID, Grains: mn.Grains, Pillar: mn.Pillar})
}

// Deps returns state dependencies over local file_roots ({env: [dirs]}).
func Deps(fileRoots map[string][]string, caller state.Caller, cacheDir string) state.Deps {
	files := state.DirFiles{Roots: fileRoots}
	return state.Deps{Files: files, Renderer: Renderer{Files: files, Caller: caller}, Matcher: Matcher{}, Caller: caller, CacheDir: cacheDir}
}
