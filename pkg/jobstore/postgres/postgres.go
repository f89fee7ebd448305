// Package postgres is Brine's production job store on PostgreSQL (pgx v5,
// pgxpool). It implements jobstore.Store and passes the shared conformance
// suite. Several masters may share one database: the schema is created and
// upgraded by embedded, numbered migrations run under an advisory lock, and
// partition maintenance takes a transaction-level advisory lock too.
//
// Returns are written with COPY into a temporary table followed by
// INSERT ... SELECT ... ON CONFLICT DO NOTHING, so duplicates are ignored.
// Returns are range-partitioned by day of JID, events by day of time; Prune
// drops whole partitions older than the retention period.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/brine-project/brine/pkg/jobstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune Open. The zero value is fine.
type Options struct {
	// Schema, when set, is created if missing and used as search_path; a
	// search_path parameter in the URL is honoured the same way.
	Schema   string
	MaxConns int32 // pool size (default 10)
	// PartitionsAhead is how many days of partitions exist ahead of today
	// (default 7); MaintainEvery is how often they are created (default 1h).
	PartitionsAhead int
	MaintainEvery   time.Duration
	Logger          *slog.Logger
}

// Store is the PostgreSQL job store.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	opts   Options
	log    *slog.Logger

	stop     chan struct{}
	stopped  sync.WaitGroup
	stopOnce sync.Once
}

var _ jobstore.Store = (*Store)(nil)

// returnsIn is the per-connection temporary table COPY writes into.
const returnsIn = "brine_returns_in"

// Open connects, brings the schema up to date and creates the partitions
// of the coming days.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 10
	}
	if opts.PartitionsAhead <= 0 {
		opts.PartitionsAhead = 7
	}
	if opts.MaintainEvery <= 0 {
		opts.MaintainEvery = time.Hour
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The error may contain the URL with its password: say less.
		return nil, fmt.Errorf("postgres: %w: cannot parse database URL", jobstore.ErrInvalid)
	}
	schema := opts.Schema
	if schema == "" {
		schema = cfg.ConnConfig.RuntimeParams["search_path"]
	}
	if strings.ContainsAny(schema, ", \"") {
		return nil, fmt.Errorf("postgres: %w: schema %q must be one plain name", jobstore.ErrInvalid, schema)
	}
	if schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
	}
	cfg.MaxConns = opts.MaxConns
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS `+returnsIn+` (
			jid text COLLATE "C", minion text, success boolean, retcode integer,
			return jsonb, duration double precision, received timestamptz) ON COMMIT DELETE ROWS`)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &Store{pool: pool, schema: schema, opts: opts, log: opts.Logger, stop: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.ensurePartitions(ctx, time.Now()); err != nil {
		pool.Close()
		return nil, err
	}
	s.stopped.Add(1)
	go s.maintain()
	return s, nil
}

// lockKey is the advisory lock of this schema's migrations and maintenance.
func (s *Store) lockKey(what string) int64 {
	h := fnv.New64a()
	h.Write([]byte("brine-jobstore:" + what + ":" + s.schema))
	return int64(h.Sum64())
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, holding a session advisory lock so that masters
// starting together apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Release()
	key := s.lockKey("migrate")
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	defer func() {
		// A fresh context: unlock even when ctx is done.
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
			conn.Conn().Close(uctx) // closing the session releases the lock
		}
	}()
	if s.schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
			return fmt.Errorf("postgres: create schema: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: migrations table: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("postgres: read migrations: %w", err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("postgres: read migrations: %w", err)
	}
	for _, v := range vs {
		applied[int(v)] = true
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("postgres: migration %s: bad name: %w", base, err)
		}
		if applied[v] {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", base, err)
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, v, base)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", base, err)
		}
		s.log.Info("jobstore migrated", slog.String("store", "postgres"), slog.String("schema", s.schema), slog.Int("version", v))
	}
	return nil
}

// maintain creates partitions ahead, hourly by default, until Close.
func (s *Store) maintain() {
	defer s.stopped.Done()
	t := time.NewTicker(s.opts.MaintainEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := s.ensurePartitions(ctx, now); err != nil {
				s.log.Warn("jobstore: creating partitions", slog.Any("error", err))
			}
			cancel()
		}
	}
}

// Health pings the database.
func (s *Store) Health(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: health: %w", err)
	}
	return nil
}

// Pool returns the connection pool, for tests and tools (psql-like checks,
// benchmarks); the store keeps owning it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close stops maintenance and closes the pool.
func (s *Store) Close() error {
	s.stopOnce.Do(func() {
		close(s.stop)
		s.stopped.Wait()
		s.pool.Close()
	})
	return nil
}

// wrap prefixes err with the operation and marks data errors (SQLSTATE
// class 22, e.g. a NUL character, and 23, integrity) as ErrInvalid.
func wrap(op string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23")) {
		return fmt.Errorf("postgres: %s: %w: %w", op, jobstore.ErrInvalid, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}
