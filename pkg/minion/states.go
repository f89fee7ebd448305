package minion

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/brine-project/brine/pkg/fileserver"
	"github.com/brine-project/brine/pkg/state"
	"github.com/brine-project/brine/pkg/state/masterless"
)

// cacheFiles is the state system's view of the minion's file cache: salt://
// files come from the master, cached by hash.
type cacheFiles struct {
	c      *fileserver.Cache
	master masterFiles
}

var _ state.EnvLister = cacheFiles{}

// Envs implements state.EnvLister.
func (f cacheFiles) Envs(ctx context.Context) ([]string, error) { return f.master.Envs(ctx) }

func (f cacheFiles) GetFile(ctx context.Context, url, saltenv string) (string, error) {
	p, err := f.c.GetFile(ctx, url, saltenv)
	if errors.Is(err, fileserver.ErrNotFound) {
		return "", fmt.Errorf("%w: %s (saltenv %s)", state.ErrNotFound, url, saltenv)
	}
	return p, err
}

func (f cacheFiles) ListFiles(ctx context.Context, saltenv, prefix string) ([]string, error) {
	return f.c.ListMaster(ctx, saltenv, prefix)
}

// StateDeps implements state.Provider: state runs render SLS and templates
// fetched from the master's file server.
func (m *Minion) StateDeps() state.Deps {
	files := cacheFiles{m.files, masterFiles{m}}
	return state.Deps{Files: files, Renderer: masterless.Renderer{Files: files}, Matcher: masterless.Matcher{},
		CacheDir: filepath.Join(m.cfg.DataDir, "cache")}
}
