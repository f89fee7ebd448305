package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/brine-project/brine/pkg/jobstore"
)

// AddReturns inserts returns in one transaction; (jid, minion) duplicates
// are ignored.
func (s *Store) AddReturns(ctx context.Context, rs []jobstore.Return) error {
	if len(rs) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO returns (jid, minion, success, retcode, ret, duration_ns, received)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (jid, minion) DO NOTHING`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, r := range rs {
			ret, err := jobstore.JSONOrNull(r.Return)
			if err != nil {
				return fmt.Errorf("return %s/%s: %w", r.JID, r.Minion, err)
			}
			if _, err := st.ExecContext(ctx, r.JID, r.Minion, r.Success, r.Retcode, string(ret), int64(r.Duration), nanos(r.Received)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: add returns: %w", err)
	}
	return nil
}

// AddEvents inserts events in one transaction.
func (s *Store) AddEvents(ctx context.Context, evs []jobstore.Event) error {
	if len(evs) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO events (tag, data, time, master) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, e := range evs {
			data, err := jobstore.JSONOrNull(e.Data)
			if err != nil {
				return fmt.Errorf("event %s: %w", e.Tag, err)
			}
			if _, err := st.ExecContext(ctx, e.Tag, string(data), nanos(e.Time), e.Master); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: add events: %w", err)
	}
	return nil
}

// ListEvents returns events after since whose tag matches tagGlob.
func (s *Store) ListEvents(ctx context.Context, since int64, tagGlob string, limit int) ([]jobstore.Event, error) {
	q := `SELECT id, tag, data, time, master FROM events WHERE id > ?`
	args := []any{since}
	if tagGlob != "" {
		// SQLite's GLOB is fnmatch with [^...] for negated classes.
		q += ` AND tag GLOB ?`
		args = append(args, strings.ReplaceAll(tagGlob, "[!", "[^"))
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, jobstore.PageLimit(limit))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list events: %w", err)
	}
	defer rows.Close()
	out := []jobstore.Event{}
	for rows.Next() {
		var (
			e    jobstore.Event
			data string
			t    int64
		)
		if err := rows.Scan(&e.ID, &e.Tag, &data, &t, &e.Master); err != nil {
			return nil, fmt.Errorf("sqlite: list events: %w", err)
		}
		e.Data, e.Time = json.RawMessage(data), fromNanos(t)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list events: %w", err)
	}
	return out, nil
}

// UpsertMinions inserts or updates cached minions; nil Grains keeps the
// stored grains.
func (s *Store) UpsertMinions(ctx context.Context, ms []jobstore.Minion) error {
	if len(ms) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, m := range ms {
			var grains any // NULL keeps the stored grains
			if m.Grains != nil {
				b, err := json.Marshal(m.Grains)
				if err != nil {
					return fmt.Errorf("minion %s: %w: grains: %w", m.ID, jobstore.ErrInvalid, err)
				}
				grains = string(b)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO minions (id, grains, last_seen, connected, master)
				VALUES (?, COALESCE(?, '{}'), ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET grains = COALESCE(?, minions.grains),
					last_seen = excluded.last_seen, connected = excluded.connected, master = excluded.master`,
				m.ID, grains, nanos(m.LastSeen), m.Connected, m.Master, grains)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: upsert minions: %w", err)
	}
	return nil
}

const minionColumns = `id, grains, last_seen, connected, master`

func scanMinion(row scanner) (jobstore.Minion, error) {
	var (
		m      jobstore.Minion
		grains string
		seen   int64
	)
	if err := row.Scan(&m.ID, &grains, &seen, &m.Connected, &m.Master); err != nil {
		return m, err
	}
	m.LastSeen = fromNanos(seen)
	if err := json.Unmarshal([]byte(grains), &m.Grains); err != nil {
		return m, fmt.Errorf("minion %s: grains: %w", m.ID, err)
	}
	return m, nil
}

// ListMinions returns all cached minions by ID.
func (s *Store) ListMinions(ctx context.Context) ([]jobstore.Minion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+minionColumns+` FROM minions ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list minions: %w", err)
	}
	defer rows.Close()
	out := []jobstore.Minion{}
	for rows.Next() {
		m, err := scanMinion(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list minions: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list minions: %w", err)
	}
	return out, nil
}

// GetMinion returns one cached minion.
func (s *Store) GetMinion(ctx context.Context, id string) (*jobstore.Minion, error) {
	m, err := scanMinion(s.r.QueryRowContext(ctx, `SELECT `+minionColumns+` FROM minions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = jobstore.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get minion %s: %w", id, err)
	}
	return &m, nil
}
