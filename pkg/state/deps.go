package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/brine-project/brine/pkg/state/pkgmgr"
	"github.com/brine-project/brine/pkg/state/svc"
)

// ErrNotFound is what a FileClient wraps when a salt:// path does not exist
// in the environment. It wraps fs.ErrNotExist, and a FileClient may wrap
// fs.ErrNotExist instead (pkg/fileserver does).
var ErrNotFound = fmt.Errorf("state: file not found: %w", fs.ErrNotExist)

// IsNotFound reports whether err means a missing file.
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, fs.ErrNotExist)
}

// RenderInput describes what is being rendered, so a Renderer can build the
// template context (salt, grains, pillar, opts, saltenv, sls, tplfile).
type RenderInput struct {
	Saltenv string
	SLS     string // dotted SLS name; "" for a file template
	Source  string // salt:// URL or local path of the source
	Grains  map[string]any
	Pillar  map[string]any
	Opts    map[string]any
	// Vars are extra template variables (file.managed's context/defaults).
	Vars map[string]any
	// Caller runs salt['mod.fun'](...) calls (Deps.Caller); may be nil.
	Caller Caller
}

// Renderer turns SLS sources into data and file templates into text. The
// integrator implements it on top of pkg/render.
type Renderer interface {
	// RenderSLS renders an SLS source through its shebang pipeline
	// ("#!jinja|yaml" by default) into data whose mappings keep their order
	// (see Ordered for the accepted shapes).
	RenderSLS(ctx context.Context, src []byte, in RenderInput) (any, error)
	// RenderTemplate renders a file template with engine "jinja" or
	// "django" into text.
	RenderTemplate(ctx context.Context, engine string, src []byte, in RenderInput) (string, error)
}

// FileClient gives access to the salt:// file server of an environment.
type FileClient interface {
	// GetFile fetches url (salt://path) from saltenv into the local cache
	// and returns the local path; a missing file wraps ErrNotFound.
	GetFile(ctx context.Context, url, saltenv string) (string, error)
	// ListFiles lists the paths (relative to the environment root, "/"
	// separated) of every file under prefix.
	ListFiles(ctx context.Context, saltenv, prefix string) ([]string, error)
}

// EnvLister is an optional FileClient ability: the environments that exist,
// for highstate with no saltenv given. Without it only "base" is read.
type EnvLister interface {
	Envs(ctx context.Context) ([]string, error)
}

// Minion is what a top file target is matched against.
type Minion struct {
	ID     string
	Grains map[string]any
	Pillar map[string]any
}

// TopMatcher decides whether a top file target matches this minion;
// tgtType is Salt's match type (glob, pcre, list, grain, grain_pcre,
// pillar, pillar_pcre, ipcidr, compound, nodegroup).
type TopMatcher interface {
	MatchTop(ctx context.Context, tgt, tgtType string, m Minion) (bool, error)
}

// Caller runs execution functions (onlyif/unless given as {fun: ...}).
type Caller interface {
	Call(ctx context.Context, fun string, args []any, kwargs map[string]any) (any, error)
}

// Deps are the collaborators a state run needs from the minion.
type Deps struct {
	Renderer Renderer
	Files    FileClient
	Matcher  TopMatcher // nil: only glob targets against MinionID are matched
	Caller   Caller     // nil: onlyif/unless with fun: fail clearly
	// Packages is the package manager (nil: detected, apt/dpkg).
	Packages pkgmgr.Manager
	// Services is the service manager (nil: detected, systemd as PID 1).
	Services svc.Manager
	// CacheDir holds backups (file.managed backup: minion) and downloads.
	CacheDir string
}

// Provider is implemented by the minion runtime (module.Env.Runtime); the
// state.* execution functions find it by type assertion.
type Provider interface {
	StateDeps() Deps
}

// Options are per-run settings.
type Options struct {
	MinionID string
	JID      string
	Saltenv  string // "" means every environment of the top file (highstate) or "base"
	Test     bool
	Failhard bool
	Grains   map[string]any
	Pillar   map[string]any
	Opts     map[string]any
	Log      *slog.Logger
	// Exclude removes states: entries "sls: name", "id: name" or plain SLS
	// names, as state.sls's exclude kwarg.
	Exclude []any
}
