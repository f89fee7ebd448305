package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/brine-project/brine/pkg/jobstore"
)

// uniqueViolation is SQLSTATE unique_violation.
const uniqueViolation = "23505"

var returnCols = []string{"jid", "minion", "success", "retcode", "return", "duration", "received"}

// AddReturns writes a batch with COPY; a batch holding a (jid, minion)
// already stored is written again through COPY into the connection's
// temporary table and INSERT ... SELECT ... ON CONFLICT DO NOTHING, so
// duplicates are ignored.
func (s *Store) AddReturns(ctx context.Context, rs []jobstore.Return) error {
	if len(rs) == 0 {
		return nil
	}
	rows := make([][]any, len(rs))
	for i, r := range rs {
		ret, err := jobstore.JSONOrNull(r.Return)
		if err != nil {
			return fmt.Errorf("postgres: add returns: %s/%s: %w", r.JID, r.Minion, err)
		}
		rows[i] = []any{r.JID, r.Minion, r.Success, int32(r.Retcode), json.RawMessage(ret), secs(r.Duration), r.Received}
	}
	// Duplicates are rare (a minion resending after a master restart), so
	// COPY goes straight into returns first; only a batch that hits one is
	// redone through the temporary table with ON CONFLICT DO NOTHING.
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"returns"}, returnCols, pgx.CopyFromRows(rows))
	var pe *pgconn.PgError
	if err == nil || !errors.As(err, &pe) || pe.Code != uniqueViolation {
		if err != nil {
			return wrap("add returns", err)
		}
		return nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{returnsIn}, returnCols, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO returns (jid, minion, success, retcode, return, duration, received)
			SELECT jid, minion, success, retcode, return, duration, received FROM `+returnsIn+`
			ON CONFLICT (jid, minion) DO NOTHING`)
		return err
	})
	if err != nil {
		return wrap("add returns", err)
	}
	return nil
}

// AddEvents writes a batch of events with COPY.
func (s *Store) AddEvents(ctx context.Context, evs []jobstore.Event) error {
	if len(evs) == 0 {
		return nil
	}
	rows := make([][]any, len(evs))
	for i, e := range evs {
		data, err := jobstore.JSONOrNull(e.Data)
		if err != nil {
			return fmt.Errorf("postgres: add events: %s: %w", e.Tag, err)
		}
		rows[i] = []any{e.Tag, json.RawMessage(data), e.Time, e.Master}
	}
	if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"tag", "data", "time", "master"}, pgx.CopyFromRows(rows)); err != nil {
		return wrap("add events", err)
	}
	return nil
}

// ListEvents returns events after since whose tag matches tagGlob.
func (s *Store) ListEvents(ctx context.Context, since int64, tagGlob string, limit int) ([]jobstore.Event, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, tag, data, time, master FROM events
		WHERE id > $1 AND ($2 = '' OR tag ~ $2) ORDER BY id LIMIT $3`,
		since, jobstore.GlobRegexp(tagGlob), jobstore.PageLimit(limit))
	evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (jobstore.Event, error) {
		var e jobstore.Event
		var data []byte
		err := row.Scan(&e.ID, &e.Tag, &data, &e.Time, &e.Master)
		e.Data, e.Time = data, utc(e.Time)
		return e, err
	})
	if err != nil {
		return nil, wrap("list events", err)
	}
	if evs == nil {
		evs = []jobstore.Event{}
	}
	return evs, nil
}

// UpsertMinions inserts or updates cached minions; nil Grains keeps the
// stored grains.
func (s *Store) UpsertMinions(ctx context.Context, ms []jobstore.Minion) error {
	if len(ms) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, m := range ms {
		var grains any // NULL keeps the stored grains
		if m.Grains != nil {
			g, err := json.Marshal(m.Grains)
			if err != nil {
				return fmt.Errorf("postgres: upsert minion %s: %w: grains: %w", m.ID, jobstore.ErrInvalid, err)
			}
			grains = string(g)
		}
		b.Queue(`INSERT INTO minions (id, grains, last_seen, connected, master)
			VALUES ($1, COALESCE($2::jsonb, '{}'), $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET grains = COALESCE($2::jsonb, minions.grains),
				last_seen = excluded.last_seen, connected = excluded.connected, master = excluded.master`,
			m.ID, grains, m.LastSeen, m.Connected, m.Master)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	if err != nil {
		return wrap("upsert minions", err)
	}
	return nil
}

func scanMinion(row pgx.CollectableRow) (jobstore.Minion, error) {
	var m jobstore.Minion
	var grains []byte
	if err := row.Scan(&m.ID, &grains, &m.LastSeen, &m.Connected, &m.Master); err != nil {
		return m, err
	}
	m.LastSeen = utc(m.LastSeen)
	if err := json.Unmarshal(grains, &m.Grains); err != nil {
		return m, fmt.Errorf("minion %s: grains: %w", m.ID, err)
	}
	return m, nil
}

// ListMinions returns all cached minions by ID.
func (s *Store) ListMinions(ctx context.Context) ([]jobstore.Minion, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, grains, last_seen, connected, master FROM minions ORDER BY id`)
	ms, err := pgx.CollectRows(rows, scanMinion)
	if err != nil {
		return nil, wrap("list minions", err)
	}
	if ms == nil {
		ms = []jobstore.Minion{}
	}
	return ms, nil
}

// GetMinion returns one cached minion.
func (s *Store) GetMinion(ctx context.Context, id string) (*jobstore.Minion, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, grains, last_seen, connected, master FROM minions WHERE id = $1`, id)
	m, err := pgx.CollectExactlyOneRow(rows, scanMinion)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: get minion %s: %w", id, jobstore.ErrNotFound)
	}
	if err != nil {
		return nil, wrap("get minion "+id, err)
	}
	return &m, nil
}
