package master

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/brine-project/brine/pkg/jobstore"
	"github.com/brine-project/brine/pkg/jobstore/sqlite"
)

// openStore opens the job store the config names: PostgreSQL for a
// postgres:// URL, else the embedded SQLite file in data_dir.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (jobstore.Store, error) {
	if strings.HasPrefix(cfg.Database, "postgres://") || strings.HasPrefix(cfg.Database, "postgresql://") {
		return openPostgres(ctx, cfg, log)
	}
	if cfg.Database != "" {
		return nil, fmt.Errorf("master: database %q: want empty (embedded) or a postgres:// URL", redactURL(cfg.Database))
	}
	s, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "jobs.db"), sqlite.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	return s, nil
}

// redactURL hides a password in a database URL so it never reaches a log.
func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	cred := u[scheme+3 : at]
	if user, _, ok := strings.Cut(cred, ":"); ok {
		return u[:scheme+3] + user + ":xxxxx" + u[at:]
	}
	return u
}
