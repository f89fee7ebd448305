package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brine-project/brine/pkg/jobstore"
)

const jobColumns = `j.jid, j.fun, j.arg, j.kwarg, j.tgt, j.tgt_type, j."user", j.master, j.created, j.timeout, j.status, j.finished`

func secs(d time.Duration) float64 { return d.Seconds() }

func dur(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// CreateJob stores a job and its expected minions in one transaction.
func (s *Store) CreateJob(ctx context.Context, j jobstore.Job) error {
	if j.JID == "" {
		return fmt.Errorf("postgres: create job: %w: empty jid", jobstore.ErrInvalid)
	}
	arg, kwarg, err := jobstore.EncodeArgs(j)
	if err != nil {
		return fmt.Errorf("postgres: create job %s: %w", j.JID, err)
	}
	if j.Status == "" {
		j.Status = jobstore.StatusRunning
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO jobs (jid, fun, arg, kwarg, tgt, tgt_type, "user", master, created, timeout, status, finished)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (jid) DO NOTHING`,
			j.JID, j.Fun, string(arg), string(kwarg), j.Tgt, j.TgtType, j.User, j.Master, j.Created, secs(j.Timeout), j.Status, j.Finished)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return jobstore.ErrExists
		}
		if len(j.Expected) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO job_expected (jid, minion) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, j.JID, j.Expected)
		return err
	})
	if err != nil {
		if errors.Is(err, jobstore.ErrExists) {
			return fmt.Errorf("postgres: create job %s: %w", j.JID, err)
		}
		return wrap("create job "+j.JID, err)
	}
	return nil
}

// FinishJob sets status and finish time and records no-return minions.
func (s *Store) FinishJob(ctx context.Context, jid, status string, noReturn []jobstore.NoReturn, at time.Time) error {
	minions, reasons := make([]string, len(noReturn)), make([]string, len(noReturn))
	for i, nr := range noReturn {
		minions[i], reasons[i] = nr.Minion, nr.Reason
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE jobs SET status = $1, finished = $2 WHERE jid = $3`, status, at, jid)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return jobstore.ErrNotFound
		}
		if len(noReturn) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO job_noreturn (jid, minion, reason) SELECT $1, m, r FROM unnest($2::text[], $3::text[]) AS u(m, r)
			ON CONFLICT (jid, minion) DO UPDATE SET reason = excluded.reason`, jid, minions, reasons)
		return err
	})
	if err != nil {
		if errors.Is(err, jobstore.ErrNotFound) {
			return fmt.Errorf("postgres: finish job %s: %w", jid, err)
		}
		return wrap("finish job "+jid, err)
	}
	return nil
}

func scanJob(row pgx.Row) (jobstore.Job, error) {
	var (
		j          jobstore.Job
		arg, kwarg []byte
		timeout    float64
		finished   *time.Time
	)
	if err := row.Scan(&j.JID, &j.Fun, &arg, &kwarg, &j.Tgt, &j.TgtType, &j.User, &j.Master, &j.Created, &timeout, &j.Status, &finished); err != nil {
		return j, err
	}
	if err := jobstore.DecodeArgs(&j, arg, kwarg); err != nil {
		return j, err
	}
	j.Created, j.Timeout = utc(j.Created), dur(timeout)
	if finished != nil {
		t := utc(*finished)
		j.Finished = &t
	}
	return j, nil
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// GetJob returns a job with its expected minions, returns and no-returns,
// read from one snapshot.
func (s *Store) GetJob(ctx context.Context, jid string) (*jobstore.JobDetail, error) {
	var d *jobstore.JobDetail
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		j, err := scanJob(tx.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs j WHERE j.jid = $1`, jid))
		if errors.Is(err, pgx.ErrNoRows) {
			return jobstore.ErrNotFound
		}
		if err != nil {
			return err
		}
		d = &jobstore.JobDetail{Job: j}
		rows, _ := tx.Query(ctx, `SELECT minion FROM job_expected WHERE jid = $1 ORDER BY minion`, jid)
		if d.Expected, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, `SELECT minion, success, retcode, return, duration, received FROM returns WHERE jid = $1 ORDER BY minion`, jid)
		d.Returns, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (jobstore.Return, error) {
			r := jobstore.Return{JID: jid}
			var ret []byte
			var du float64
			err := row.Scan(&r.Minion, &r.Success, &r.Retcode, &ret, &du, &r.Received)
			r.Return, r.Duration, r.Received = ret, dur(du), utc(r.Received)
			return r, err
		})
		if err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, `SELECT minion, reason FROM job_noreturn WHERE jid = $1 ORDER BY minion`, jid)
		d.NoReturn, err = pgx.CollectRows(rows, pgx.RowToStructByPos[jobstore.NoReturn])
		return err
	})
	if err != nil {
		if errors.Is(err, jobstore.ErrNotFound) {
			return nil, fmt.Errorf("postgres: get job %s: %w", jid, err)
		}
		return nil, wrap("get job "+jid, err)
	}
	if d.Expected == nil {
		d.Expected = []string{}
	}
	if d.Returns == nil {
		d.Returns = []jobstore.Return{}
	}
	if d.NoReturn == nil {
		d.NoReturn = []jobstore.NoReturn{}
	}
	return d, nil
}

// listJobsQuery builds ListJobs' SQL; the EXPLAIN test and the benchmark
// use it too.
func listJobsQuery(f jobstore.JobFilter) (string, []any) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.Fun != "" {
		where = append(where, `j.fun = `+arg(f.Fun))
	}
	if f.User != "" {
		where = append(where, `j."user" = `+arg(f.User))
	}
	if f.Target != "" {
		where = append(where, `j.tgt = `+arg(f.Target))
	}
	if !f.Since.IsZero() {
		where = append(where, `j.created >= `+arg(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, `j.created < `+arg(f.Until))
	}
	if f.Cursor != "" {
		where = append(where, `j.jid < `+arg(f.Cursor))
	}
	if f.Minion != "" {
		m := arg(f.Minion)
		where = append(where, `(EXISTS (SELECT 1 FROM job_expected e WHERE e.jid = j.jid AND e.minion = `+m+`)
			OR EXISTS (SELECT 1 FROM returns r WHERE r.jid = j.jid AND r.minion = `+m+`))`)
	}
	if f.Success != nil {
		switch {
		case f.Minion != "":
			where = append(where, `EXISTS (SELECT 1 FROM returns r WHERE r.jid = j.jid AND r.minion = `+arg(f.Minion)+` AND r.success = `+arg(*f.Success)+`)`)
		case *f.Success:
			where = append(where, `EXISTS (SELECT 1 FROM returns r WHERE r.jid = j.jid)
				AND NOT EXISTS (SELECT 1 FROM returns r WHERE r.jid = j.jid AND NOT r.success)
				AND NOT EXISTS (SELECT 1 FROM job_noreturn n WHERE n.jid = j.jid)`)
		default:
			where = append(where, `(EXISTS (SELECT 1 FROM returns r WHERE r.jid = j.jid AND NOT r.success)
				OR EXISTS (SELECT 1 FROM job_noreturn n WHERE n.jid = j.jid))`)
		}
	}
	q := `SELECT ` + jobColumns + ` FROM jobs j`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY j.jid DESC LIMIT ` + arg(jobstore.PageLimit(f.Limit)+1)
	return q, args
}

// ListJobs pages through jobs by JID descending.
func (s *Store) ListJobs(ctx context.Context, f jobstore.JobFilter) ([]jobstore.Job, string, error) {
	q, args := listJobsQuery(f)
	rows, _ := s.pool.Query(ctx, q, args...)
	jobs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (jobstore.Job, error) { return scanJob(row) })
	if err != nil {
		return nil, "", wrap("list jobs", err)
	}
	if jobs == nil {
		jobs = []jobstore.Job{}
	}
	if limit := jobstore.PageLimit(f.Limit); len(jobs) > limit {
		return jobs[:limit], jobs[limit-1].JID, nil
	}
	return jobs, "", nil
}
