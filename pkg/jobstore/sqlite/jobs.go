package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/brine-project/brine/pkg/jobstore"
)

const jobColumns = `j.jid, j.fun, j.arg, j.kwarg, j.tgt, j.tgt_type, j."user", j.master, j.created, j.timeout_ns, j.status, j.finished`

// CreateJob stores a new job and its expected minions in one transaction.
func (s *Store) CreateJob(ctx context.Context, j jobstore.Job) error {
	if j.JID == "" {
		return fmt.Errorf("sqlite: create job: %w: empty jid", jobstore.ErrInvalid)
	}
	arg, kwarg, err := jobstore.EncodeArgs(j)
	if err != nil {
		return fmt.Errorf("sqlite: create job %s: %w", j.JID, err)
	}
	if j.Status == "" {
		j.Status = jobstore.StatusRunning
	}
	var finished any
	if j.Finished != nil {
		finished = nanos(*j.Finished)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO jobs (jid, fun, arg, kwarg, tgt, tgt_type, "user", master, created, timeout_ns, status, finished)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (jid) DO NOTHING`,
			j.JID, j.Fun, string(arg), string(kwarg), j.Tgt, j.TgtType, j.User, j.Master, nanos(j.Created), int64(j.Timeout), j.Status, finished)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return jobstore.ErrExists
		}
		if len(j.Expected) == 0 {
			return nil
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO job_expected (jid, minion) VALUES (?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, m := range j.Expected {
			if _, err := st.ExecContext(ctx, j.JID, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: create job %s: %w", j.JID, err)
	}
	return nil
}

// FinishJob sets status and finish time and records no-return minions.
func (s *Store) FinishJob(ctx context.Context, jid, status string, noReturn []jobstore.NoReturn, at time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, finished = ? WHERE jid = ?`, status, nanos(at), jid)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return jobstore.ErrNotFound
		}
		for _, nr := range noReturn {
			if _, err := tx.ExecContext(ctx, `INSERT INTO job_noreturn (jid, minion, reason) VALUES (?, ?, ?)
				ON CONFLICT (jid, minion) DO UPDATE SET reason = excluded.reason`, jid, nr.Minion, nr.Reason); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: finish job %s: %w", jid, err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanJob(row scanner) (jobstore.Job, error) {
	var (
		j                  jobstore.Job
		arg, kwarg         string
		created, timeoutNs int64
		finished           sql.NullInt64
	)
	if err := row.Scan(&j.JID, &j.Fun, &arg, &kwarg, &j.Tgt, &j.TgtType, &j.User, &j.Master, &created, &timeoutNs, &j.Status, &finished); err != nil {
		return j, err
	}
	if err := jobstore.DecodeArgs(&j, []byte(arg), []byte(kwarg)); err != nil {
		return j, err
	}
	j.Created = fromNanos(created)
	j.Timeout = time.Duration(timeoutNs)
	if finished.Valid {
		t := fromNanos(finished.Int64)
		j.Finished = &t
	}
	return j, nil
}

// GetJob returns a job with its expected minions, returns and no-returns,
// read in one transaction so they are consistent.
func (s *Store) GetJob(ctx context.Context, jid string) (*jobstore.JobDetail, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: get job %s: %w", jid, err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	d, err := getJob(ctx, tx, jid)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get job %s: %w", jid, err)
	}
	return d, nil
}

func getJob(ctx context.Context, tx *sql.Tx, jid string) (*jobstore.JobDetail, error) {
	j, err := scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs j WHERE j.jid = ?`, jid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, jobstore.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	d := &jobstore.JobDetail{Job: j, Returns: []jobstore.Return{}, NoReturn: []jobstore.NoReturn{}}
	d.Expected, err = queryStrings(ctx, tx, `SELECT minion FROM job_expected WHERE jid = ? ORDER BY minion`, jid)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT minion, success, retcode, ret, duration_ns, received FROM returns WHERE jid = ? ORDER BY minion`, jid)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		r := jobstore.Return{JID: jid}
		var ret string
		var dur, recv int64
		if err := rows.Scan(&r.Minion, &r.Success, &r.Retcode, &ret, &dur, &recv); err != nil {
			rows.Close()
			return nil, err
		}
		r.Return, r.Duration, r.Received = json.RawMessage(ret), time.Duration(dur), fromNanos(recv)
		d.Returns = append(d.Returns, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT minion, reason FROM job_noreturn WHERE jid = ? ORDER BY minion`, jid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var nr jobstore.NoReturn
		if err := rows.Scan(&nr.Minion, &nr.Reason); err != nil {
			return nil, err
		}
		d.NoReturn = append(d.NoReturn, nr)
	}
	return d, rows.Err()
}

func queryStrings(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ListJobs pages through jobs by JID descending.
func (s *Store) ListJobs(ctx context.Context, f jobstore.JobFilter) ([]jobstore.Job, string, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.Fun != "" {
		add(`j.fun = ?`, f.Fun)
	}
	if f.User != "" {
		add(`j."user" = ?`, f.User)
	}
	if f.Target != "" {
		add(`j.tgt = ?`, f.Target)
	}
	if !f.Since.IsZero() {
		add(`j.created >= ?`, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		add(`j.created < ?`, nanos(f.Until))
	}
	if f.Cursor != "" {
		add(`j.jid < ?`, f.Cursor)
	}
	if f.Minion != "" {
		add(`j.jid IN (SELECT jid FROM job_expected WHERE minion = ? UNION SELECT jid FROM returns WHERE minion = ?)`, f.Minion, f.Minion)
	}
	if f.Success != nil {
		switch {
		case f.Minion != "":
			add(`EXISTS (SELECT 1 FROM returns r WHERE r.jid = j.jid AND r.minion = ? AND r.success = ?)`, f.Minion, *f.Success)
		case *f.Success:
			add(`EXISTS (SELECT 1 FROM returns r WHERE r.jid = j.jid)
				AND NOT EXISTS (SELECT 1 FROM returns r WHERE r.jid = j.jid AND r.success = 0)
				AND NOT EXISTS (SELECT 1 FROM job_noreturn n WHERE n.jid = j.jid)`)
		default:
			add(`(EXISTS (SELECT 1 FROM returns r WHERE r.jid = j.jid AND r.success = 0)
				OR EXISTS (SELECT 1 FROM job_noreturn n WHERE n.jid = j.jid))`)
		}
	}
	q := `SELECT ` + jobColumns + ` FROM jobs j`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	limit := jobstore.PageLimit(f.Limit)
	q += ` ORDER BY j.jid DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list jobs: %w", err)
	}
	defer rows.Close()
	jobs := []jobstore.Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: list jobs: %w", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite: list jobs: %w", err)
	}
	if len(jobs) > limit {
		return jobs[:limit], jobs[limit-1].JID, nil
	}
	return jobs, "", nil
}

// Prune deletes jobs created before now-keep with everything attached to
// them, returns older than that whose job is gone, and old events.
func (s *Store) Prune(ctx context.Context, now time.Time, keep time.Duration) error {
	cutoff := nanos(now.Add(-keep))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		stmts := []string{
			`DELETE FROM returns WHERE jid IN (SELECT jid FROM jobs WHERE created < ?)`,
			`DELETE FROM returns WHERE received < ? AND jid NOT IN (SELECT jid FROM jobs)`,
			`DELETE FROM jobs WHERE created < ?`,
			`DELETE FROM events WHERE time < ?`,
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q, cutoff); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: prune: %w", err)
	}
	return nil
}
