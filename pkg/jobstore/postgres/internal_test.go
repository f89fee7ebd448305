package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brine-project/brine/pkg/jobstore"
	"github.com/brine-project/brine/pkg/pgtest"
)

func openT(t testing.TB) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Open(ctx, pgtest.SchemaURL(t), Options{MaxConns: 4})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestListJobsUsesIndexes runs EXPLAIN on ListJobs' query for each filter
// over 100,000 returns and fails on any sequential scan of returns or
// job_expected partitions holding data.
func TestListJobsUsesIndexes(t *testing.T) {
	s := openT(t)
	seed(t, s.pool, 2000, 50)
	yes, no := true, false
	ctx := context.Background()
	// A cursor from the middle of the data.
	var cursor string
	if err := s.pool.QueryRow(ctx, `SELECT jid FROM jobs ORDER BY jid DESC OFFSET 1000 LIMIT 1`).Scan(&cursor); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		f    jobstore.JobFilter
	}{
		{"none", jobstore.JobFilter{}},
		{"minion", jobstore.JobFilter{Minion: "m0042"}},
		{"minion success false", jobstore.JobFilter{Minion: "m0042", Success: &no}},
		{"minion success true", jobstore.JobFilter{Minion: "m0042", Success: &yes}},
		{"success false", jobstore.JobFilter{Success: &no}},
		{"success true", jobstore.JobFilter{Success: &yes}},
		{"fun user", jobstore.JobFilter{Fun: "cmd.run", User: "deployer"}},
		{"target", jobstore.JobFilter{Target: "db*"}},
		{"time range", jobstore.JobFilter{Since: time.Now().Add(-30 * time.Minute), Until: time.Now().Add(-20 * time.Minute)}},
		{"cursor minion", jobstore.JobFilter{Minion: "m0001", Cursor: cursor, Limit: 20}},
	}
	// Empty partitions are scanned sequentially at no cost, rightly; the
	// relations holding data must be reached through indexes.
	rows, _ := s.pool.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.reltuples > 0
		AND (c.relname LIKE 'returns%' OR c.relname = 'job_expected')`)
	full, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(full) < 2 {
		t.Fatalf("relations with data: %v, %v", full, err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, args := listJobsQuery(tc.f)
			rows, _ := s.pool.Query(ctx, "EXPLAIN "+q, args...)
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			for _, rel := range full {
				if strings.Contains(plan, "Seq Scan on "+rel+" ") {
					t.Errorf("plan scans %s sequentially:\n%s", rel, plan)
				}
			}
			if _, _, err := s.ListJobs(ctx, tc.f); err != nil {
				t.Errorf("list: %v", err)
			}
		})
	}
}

// TestPartitions checks that returns land in their JID-day partition, that
// rows waiting in the default partition move when it is created, and that
// Prune drops whole old partitions.
func TestPartitions(t *testing.T) {
	s := openT(t)
	ctx := context.Background()
	now := time.Now().UTC()
	old := now.AddDate(0, 0, -40)
	jidNow := now.Format("20060102150405") + "000000_a"
	jidOld := old.Format("20060102150405") + "000000_a"
	rs := []jobstore.Return{
		{JID: jidNow, Minion: "m", Received: now},
		{JID: jidOld, Minion: "m", Received: old},
	}
	if err := s.AddReturns(ctx, rs); err != nil {
		t.Fatal(err)
	}
	where := func(jid string) string {
		var rel string
		if err := s.pool.QueryRow(ctx, `SELECT tableoid::regclass::text FROM returns WHERE jid = $1`, jid).Scan(&rel); err != nil {
			t.Fatalf("locate %s: %v", jid, err)
		}
		return rel[strings.LastIndex(rel, ".")+1:]
	}
	if got, want := where(jidNow), "returns_p"+now.Format(dayFmt); got != want {
		t.Errorf("today's return in %s, want %s", got, want)
	}
	if got := where(jidOld); got != "returns_default" {
		t.Errorf("old return in %s, want returns_default", got)
	}
	if err := s.EnsurePartitions(ctx, old, old); err != nil {
		t.Fatal(err)
	}
	if got, want := where(jidOld), "returns_p"+old.Format(dayFmt); got != want {
		t.Errorf("after EnsurePartitions old return in %s, want %s", got, want)
	}
	exists := func(name string) bool {
		var ok bool
		if err := s.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, s.qualify(name)).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	oldParts := []string{"returns_p" + old.Format(dayFmt), "events_p" + old.Format(dayFmt)}
	for _, p := range oldParts {
		if !exists(p) {
			t.Errorf("EnsurePartitions did not create %s", p)
		}
	}
	if err := s.Prune(ctx, now, 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, p := range oldParts {
		if exists(p) {
			t.Errorf("old partition %s survived Prune", p)
		}
	}
	for _, p := range []string{"returns_p" + now.Format(dayFmt), "events_p" + now.AddDate(0, 0, 7).Format(dayFmt)} {
		if !exists(p) {
			t.Errorf("partition %s missing after Prune", p)
		}
	}
	if got := where(jidNow); got == "" {
		t.Error("today's return lost")
	}
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	base := pgtest.SharedURL(t)
	url := pgtest.WithSearchPath(t, base, pgtest.NewSchema(t, base))
	const n = 4
	errs := make(chan error, n)
	stores := make(chan *Store, n)
	for i := 0; i < n; i++ {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			s, err := Open(ctx, url, Options{MaxConns: 2})
			errs <- err
			stores <- s
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Errorf("concurrent open: %v", err)
		}
		if s := <-stores; s != nil {
			defer s.Close()
		}
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var versions, files int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	names, _ := migrations.ReadDir("migrations")
	files = len(names)
	if versions != files {
		t.Errorf("schema_migrations has %d rows, want %d", versions, files)
	}
}

func TestDataErrorsAreInvalid(t *testing.T) {
	s := openT(t)
	ctx := context.Background()
	cases := []struct {
		name string
		r    jobstore.Return
	}{
		{"NUL in JSON string", jobstore.Return{JID: "20261122000000000000_x", Minion: "a", Return: []byte(`"a\u0000b"`)}},
		{"NUL in minion id", jobstore.Return{JID: "20261122000000000000_x", Minion: "a\x00b"}},
		{"not JSON", jobstore.Return{JID: "20261122000000000000_x", Minion: "a", Return: []byte(`{`)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.AddReturns(ctx, []jobstore.Return{tc.r}); !errorsIs(err, jobstore.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
