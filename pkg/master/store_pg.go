package master

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/brine-project/brine/pkg/jobstore"
)

func openPostgres(ctx context.Context, cfg Config, log *slog.Logger) (jobstore.Store, error) {
	return nil, fmt.Errorf("master: database %s: PostgreSQL store not built in yet", redactURL(cfg.Database))
}
