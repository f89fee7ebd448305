package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// seed fills the store with jobs jobs of perJob minions each (m0000...),
// every one expected and returned, a few failed, created one second apart
// back from now, with generate_series (fast), then ANALYZEs.
func seed(tb testing.TB, pool *pgxpool.Pool, jobs, perJob int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	stmts := []string{
		`CREATE TEMP TABLE seed_jobs ON COMMIT DROP AS
			SELECT g, to_char(c AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || '_' || lpad(g::text, 7, '0') AS jid, c AS created
			FROM generate_series(1, $1::int) g, LATERAL (SELECT now() - g * interval '1 second' AS c) t`,
		`INSERT INTO jobs (jid, fun, arg, kwarg, tgt, tgt_type, "user", master, created, timeout, status, finished)
			SELECT jid, (ARRAY['test.ping','cmd.run','state.apply','grains.items'])[g % 4 + 1], '[]', '{}',
				(ARRAY['*','web*','db*'])[g % 3 + 1], 'glob', (ARRAY['admin','deployer','ci','bot','ops'])[g % 5 + 1],
				'm1', created, 30, 'complete', created + interval '2 seconds'
			FROM seed_jobs`,
		`INSERT INTO job_expected (jid, minion)
			SELECT jid, 'm' || lpad(m::text, 4, '0') FROM seed_jobs, generate_series(0, $1::int - 1) m
			UNION ALL SELECT jid, 'rare' FROM seed_jobs WHERE g % 100 = 0`,
		`INSERT INTO returns (jid, minion, success, retcode, return, duration, received)
			SELECT jid, 'm' || lpad(m::text, 4, '0'), (g * 7 + m) % 1000 <> 0, CASE WHEN (g * 7 + m) % 1000 = 0 THEN 1 ELSE 0 END,
				'{"stdout": "Linux web 6.1.0 x86_64 GNU/Linux", "retcode": 0}', 0.05, created + interval '1 second'
			FROM seed_jobs, generate_series(0, $1::int - 1) m`,
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // committed below
	for i, q := range stmts {
		var args []any
		switch i {
		case 0:
			args = []any{jobs}
		case 2, 3:
			args = []any{perJob}
		}
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			tb.Fatalf("seed: %v\n%s", err, q)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		tb.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		tb.Fatal(err)
	}
	var n int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM returns`).Scan(&n); err != nil || n != int64(jobs*perJob) {
		tb.Fatalf("seeded %d returns (%v), want %d", n, err, jobs*perJob)
	}
}
