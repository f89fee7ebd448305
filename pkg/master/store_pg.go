package master

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/brine-project/brine/pkg/jobstore"
	"github.com/brine-project/brine/pkg/jobstore/postgres"
)

func openPostgres(ctx context.Context, cfg Config, log *slog.Logger) (jobstore.Store, error) {
	s, err := postgres.Open(ctx, cfg.Database, postgres.Options{Logger: log})
	if err != nil {
		// pgx errors may quote the URL; ours names it without the password.
		return nil, fmt.Errorf("master: database %s: %w", redactURL(cfg.Database), err)
	}
	return s, nil
}
