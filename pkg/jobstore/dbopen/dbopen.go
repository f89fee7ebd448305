// Package dbopen opens the job store a master is configured with: the
// PostgreSQL store for a postgres:// URL, the embedded SQLite store in the
// data directory otherwise. It is the one place that knows both.
package dbopen

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/brine-project/brine/pkg/jobstore"
	"github.com/brine-project/brine/pkg/jobstore/postgres"
	"github.com/brine-project/brine/pkg/jobstore/sqlite"
)

// EnvDatabase overrides an empty `database` setting.
const EnvDatabase = "BRINE_DATABASE"

// Kind names the store a database setting selects: "postgres" or "sqlite".
func Kind(database string) string {
	if strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://") {
		return "postgres"
	}
	return "sqlite"
}

// Open opens the store for the master's `database` setting: a postgres://
// or postgresql:// URL opens PostgreSQL (running migrations); "" (after
// BRINE_DATABASE) opens <dataDir>/jobs.db; anything else is taken as the
// path of a SQLite file.
func Open(ctx context.Context, database, dataDir string, log *slog.Logger) (jobstore.Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if database == "" {
		database = os.Getenv(EnvDatabase)
	}
	if Kind(database) == "postgres" {
		s, err := postgres.Open(ctx, database, postgres.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("dbopen: %w", err)
		}
		return s, nil
	}
	path := strings.TrimPrefix(database, "sqlite://")
	if path == "" {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("dbopen: %w", err)
		}
		path = filepath.Join(dataDir, "jobs.db")
	}
	s, err := sqlite.Open(ctx, path, sqlite.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("dbopen: %w", err)
	}
	return s, nil
}
