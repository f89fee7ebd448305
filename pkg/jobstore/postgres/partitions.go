package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

const dayFmt = "20060102"

// partitioned describes one partitioned table: how a day maps to its
// range bounds.
type partitioned struct {
	table  string
	bounds func(day time.Time) (lo, hi any, loSQL, hiSQL string)
	col    string
}

var partitionedTables = []partitioned{
	{table: "returns", col: "jid", bounds: func(d time.Time) (any, any, string, string) {
		lo, hi := d.Format(dayFmt), d.AddDate(0, 0, 1).Format(dayFmt)
		return lo, hi, quote(lo), quote(hi)
	}},
	{table: "events", col: "time", bounds: func(d time.Time) (any, any, string, string) {
		lo, hi := d, d.AddDate(0, 0, 1)
		return lo, hi, quote(lo.Format(time.RFC3339)), quote(hi.Format(time.RFC3339))
	}},
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// ensurePartitions creates the daily partitions from yesterday to
// PartitionsAhead days after now.
func (s *Store) ensurePartitions(ctx context.Context, now time.Time) error {
	return s.EnsurePartitions(ctx, day(now).AddDate(0, 0, -1), day(now).AddDate(0, 0, s.opts.PartitionsAhead))
}

// EnsurePartitions creates the daily partitions of returns and events for
// the days from..to (inclusive) that do not exist yet. Rows already in the
// default partitions for those days are moved into them. Masters sharing
// the database serialize on an advisory lock.
func (s *Store) EnsurePartitions(ctx context.Context, from, to time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.lockKey("partitions")); err != nil {
			return err
		}
		for d := day(from); !d.After(day(to)); d = d.AddDate(0, 0, 1) {
			for _, p := range partitionedTables {
				if err := s.createPartition(ctx, tx, p, d); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return wrap("create partitions", err)
	}
	return nil
}

func (s *Store) createPartition(ctx context.Context, tx pgx.Tx, p partitioned, d time.Time) error {
	name := p.table + "_p" + d.Format(dayFmt)
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, s.qualify(name)).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	lo, hi, loSQL, hiSQL := p.bounds(d)
	id, def, parent := pgx.Identifier{name}.Sanitize(), pgx.Identifier{p.table + "_default"}.Sanitize(), pgx.Identifier{p.table}.Sanitize()
	// Created detached, filled from the default partition, then attached:
	// attaching checks that the default partition holds no row of its range.
	stmts := []struct {
		sql  string
		args []any
	}{
		{`CREATE TABLE ` + id + ` (LIKE ` + parent + ` INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`, nil},
		{`WITH moved AS (DELETE FROM ` + def + ` WHERE ` + p.col + ` >= $1 AND ` + p.col + ` < $2 RETURNING *)
			INSERT INTO ` + id + ` SELECT * FROM moved`, []any{lo, hi}},
		{`ALTER TABLE ` + parent + ` ATTACH PARTITION ` + id + ` FOR VALUES FROM (` + loSQL + `) TO (` + hiSQL + `)`, nil},
	}
	for _, st := range stmts {
		if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("partition %s: %w", name, err)
		}
	}
	s.log.Debug("jobstore: partition created", slog.String("partition", name))
	return nil
}

// qualify returns name qualified by the store's schema, if any.
func (s *Store) qualify(name string) string {
	if s.schema == "" {
		return pgx.Identifier{name}.Sanitize()
	}
	return pgx.Identifier{s.schema, name}.Sanitize()
}

// partitions lists table's daily partitions with their day.
func (s *Store) partitions(ctx context.Context, tx pgx.Tx, table string) (map[string]time.Time, error) {
	rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = to_regclass($1)`, s.qualify(table))
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	for _, n := range names {
		d, err := time.Parse(dayFmt, strings.TrimPrefix(n, table+"_p"))
		if err == nil && strings.HasPrefix(n, table+"_p") {
			out[n] = d
		}
	}
	return out, nil
}

// Prune enforces retention: partitions whose whole day is older than
// now-keep are dropped, then the jobs created before it are deleted with
// their expected minions, no-return records and remaining returns, and so
// are older orphan returns and events. It also creates partitions ahead.
func (s *Store) Prune(ctx context.Context, now time.Time, keep time.Duration) error {
	cutoff := now.Add(-keep).UTC()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.lockKey("partitions")); err != nil {
			return err
		}
		for _, p := range partitionedTables {
			parts, err := s.partitions(ctx, tx, p.table)
			if err != nil {
				return err
			}
			for name, d := range parts {
				if d.AddDate(0, 0, 1).After(cutoff) {
					continue
				}
				if _, err := tx.Exec(ctx, `DROP TABLE `+pgx.Identifier{name}.Sanitize()); err != nil {
					return fmt.Errorf("drop %s: %w", name, err)
				}
				s.log.Info("jobstore: partition dropped", slog.String("partition", name))
			}
		}
		stmts := []struct {
			sql  string
			args []any
		}{
			{`WITH gone AS (DELETE FROM jobs WHERE created < $1 RETURNING jid)
				DELETE FROM returns r USING gone WHERE r.jid = gone.jid`, []any{cutoff}},
			// Returns whose job never got stored: only where the partition
			// bounds allow (older days and the default partition).
			{`DELETE FROM returns r WHERE r.jid < $1 AND r.received < $2
				AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.jid = r.jid)`, []any{day(cutoff).Format(dayFmt), cutoff}},
			{`DELETE FROM events WHERE time < $1`, []any{cutoff}},
		}
		for _, st := range stmts {
			if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return wrap("prune", err)
	}
	return s.ensurePartitions(ctx, now)
}
