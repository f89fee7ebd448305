package minion

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"

	"github.com/brine-project/brine/pkg/fileserver"
	"github.com/brine-project/brine/pkg/grains"
	"github.com/brine-project/brine/pkg/module"
	"github.com/brine-project/brine/pkg/pillar"
	"github.com/brine-project/brine/pkg/state"
	"github.com/brine-project/brine/pkg/state/masterless"
	"github.com/brine-project/brine/pkg/target"
)

// local is the runtime of a masterless call (brine-minion --local, like
// salt-call --local): grains collected here, pillar compiled from the
// local pillar_roots, salt:// served from the local file_roots.
type local struct {
	cfg    Config
	log    *slog.Logger
	grains map[string]any
	pillar map[string]any
	files  *fileserver.Cache
}

var (
	_ module.Runtime            = (*local)(nil)
	_ state.Provider            = (*local)(nil)
	_ module.FileClientProvider = (*local)(nil)
	_ module.PillarCompiler     = (*local)(nil)
)

// Local runs one execution function on this machine without a master and
// returns its value and retcode, as the minion would have returned them.
func Local(ctx context.Context, cfg Config, log *slog.Logger, reg *module.Registry, fun string, args []any) (any, int, error) {
	if reg == nil {
		reg = module.Default
	}
	srv, err := fileserver.New(fileserver.Config{FileRoots: cfg.FileRoots, Logger: log})
	if srv == nil {
		return nil, 0, fmt.Errorf("minion: file_roots: %w", err)
	}
	l := &local{cfg: cfg, log: log, files: fileserver.NewCache(filepath.Join(cfg.DataDir, "cache"), srv)}
	if _, err := l.RefreshGrains(ctx); err != nil {
		return nil, 0, err
	}
	if _, err := l.RefreshPillar(ctx); err != nil {
		return nil, 0, err
	}
	env := &module.Env{MinionID: cfg.ID, Grains: l.grains, Pillar: l.pillar, Log: log, Runtime: l, Registry: reg,
		Opts: map[string]any{"id": cfg.ID, "local": true, "file_client": "local", "file_roots": cfg.FileRoots,
			"pillar_roots": cfg.PillarRoots, "cachedir": cfg.DataDir}}
	v, err := reg.Call(ctx, env, fun, args, nil)
	if errors.Is(err, module.ErrUnknownFunction) || errors.Is(err, module.ErrBadArgs) {
		return nil, 0, err
	}
	ret, code := module.RetcodeOf(v, err)
	return ret, code, nil
}

// Running implements module.Runtime: a local call runs alone.
func (l *local) Running() []module.JobInfo { return nil }

// Kill implements module.Runtime.
func (l *local) Kill(jid string) error { return fmt.Errorf("minion: no job %s in a local call", jid) }

// RefreshGrains implements module.Runtime.
func (l *local) RefreshGrains(ctx context.Context) (map[string]any, error) {
	g, err := grains.Collect(ctx, l.cfg.ID, l.cfg.Grains)
	if err != nil {
		return nil, fmt.Errorf("minion: grains: %w", err)
	}
	l.grains = g
	return g, nil
}

// RefreshPillar implements module.Runtime: compile from pillar_roots.
func (l *local) RefreshPillar(ctx context.Context) (map[string]any, error) {
	p, err := l.CompilePillar(ctx, "")
	if err != nil {
		return nil, err
	}
	l.pillar = p
	return p, nil
}

// CompilePillar implements module.PillarCompiler.
func (l *local) CompilePillar(ctx context.Context, pillarenv string) (map[string]any, error) {
	c := &pillar.Compiler{Roots: l.cfg.PillarRoots, Matcher: &target.Matcher{}, Logger: l.log,
		Opts: map[string]any{"id": l.cfg.ID}}
	p, errs := c.Compile(ctx, l.cfg.ID, maps.Clone(l.grains), pillarenv, nil)
	for _, e := range errs {
		var pe *pillar.Error
		if errors.As(e, &pe) {
			l.log.Warn("pillar error", slog.String("error", pe.Redacted()))
		}
	}
	return p, nil
}

// StateDeps implements state.Provider.
func (l *local) StateDeps() state.Deps {
	return masterless.Deps(l.cfg.FileRoots, nil, filepath.Join(l.cfg.DataDir, "cache"))
}

// FileClient implements module.FileClientProvider.
func (l *local) FileClient() module.FileClient { return l.files }
