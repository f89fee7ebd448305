package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brine-project/brine/pkg/jobstore"
	"github.com/brine-project/brine/pkg/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m, dropBenchSchema) }

// ret1K is a return whose JSON is about 1 KiB, like a short cmd.run output.
var ret1K = json.RawMessage(`{"pid": 4242, "retcode": 0, "stderr": "", "stdout": "` + strings.Repeat("x", 960) + `"}`)

const rowsPerOp = 20000

// BenchmarkWriterPostgres measures returns persisted per second through
// the master's batching Writer (COPY into a temp table, INSERT ... ON
// CONFLICT DO NOTHING), 1 KiB each.
func BenchmarkWriterPostgres(b *testing.B) {
	s := openT(b)
	w, err := jobstore.NewWriter(s, jobstore.WriterOptions{MaxBatch: 2000, MaxAge: 20 * time.Millisecond, SpoolDir: b.TempDir(), QueueSize: rowsPerOp * 2})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		jid := now.UTC().Format("20060102150405") + fmt.Sprintf("%06d_bench", i)
		for m := 0; m < rowsPerOp; m++ {
			if err := w.Add(jobstore.Return{JID: jid, Minion: "minion" + fmt.Sprint(m), Success: true, Return: ret1K, Duration: time.Millisecond, Received: now}); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*rowsPerOp)/b.Elapsed().Seconds(), "rows/s")
	if st := w.Stats(); st.Stored != uint64(b.N*rowsPerOp) || st.Degraded {
		b.Fatalf("writer stats %+v, want %d stored", st, b.N*rowsPerOp)
	}
}

// BenchmarkCopyFromRaw measures a bare CopyFrom of the same rows straight
// into returns, in batches of the same size: the ceiling for the writer.
func BenchmarkCopyFromRaw(b *testing.B) {
	s := openT(b)
	ctx := context.Background()
	now := time.Now()
	const batch = 2000
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		jid := now.UTC().Format("20060102150405") + fmt.Sprintf("%06d_raw", i)
		for off := 0; off < rowsPerOp; off += batch {
			rows := make([][]any, batch)
			for m := range rows {
				rows[m] = []any{jid, "minion" + fmt.Sprint(off+m), true, int32(0), ret1K, 0.001, now}
			}
			if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"returns"}, returnCols, pgx.CopyFromRows(rows)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*rowsPerOp)/b.Elapsed().Seconds(), "rows/s")
}

var (
	bench1M     sync.Once
	bench1MURL  string
	bench1MErr  error
	benchSchema string
	benchBase   string
)

// dropBenchSchema removes the 1M-return schema kept across benchmark runs.
func dropBenchSchema() {
	if benchSchema == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if conn, err := pgx.Connect(ctx, benchBase); err == nil {
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{benchSchema}.Sanitize()+" CASCADE")
		conn.Close(ctx)
	}
}

// BenchmarkListJobs1M measures ListJobs latency over 1,000,000 returns
// (10,000 jobs x 100 minions, 1,000,000 expected-minion rows).
func BenchmarkListJobs1M(b *testing.B) {
	bench1M.Do(func() {
		benchBase = pgtest.SharedURL(b)
		benchSchema = fmt.Sprintf("bench_1m_%d", time.Now().UnixNano())
		bench1MURL = pgtest.WithSearchPath(b, benchBase, benchSchema)
		s, err := Open(context.Background(), bench1MURL, Options{MaxConns: 4})
		if err != nil {
			bench1MErr = err
			return
		}
		defer s.Close()
		start := time.Now()
		seed(b, s.pool, 10000, 100)
		b.Logf("seeded 1,000,000 returns in %v", time.Since(start).Round(time.Millisecond))
	})
	if bench1MErr != nil {
		b.Fatal(bench1MErr)
	}
	s, err := Open(context.Background(), bench1MURL, Options{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	first, next, err := s.ListJobs(ctx, jobstore.JobFilter{Limit: 100})
	if err != nil || len(first) != 100 || next == "" {
		b.Fatalf("first page: %d jobs, next %q, %v", len(first), next, err)
	}
	no := false
	cases := []struct {
		name string
		f    jobstore.JobFilter
	}{
		{"latest", jobstore.JobFilter{}},
		{"page2", jobstore.JobFilter{Cursor: next}},
		{"fun_user", jobstore.JobFilter{Fun: "cmd.run", User: "deployer"}},
		{"minion", jobstore.JobFilter{Minion: "m0042"}},
		{"rare_minion", jobstore.JobFilter{Minion: "rare"}},
		{"minion_failed", jobstore.JobFilter{Minion: "m0042", Success: &no}},
		{"failed", jobstore.JobFilter{Success: &no}},
		{"time_range", jobstore.JobFilter{Since: time.Now().Add(-2 * time.Hour), Until: time.Now().Add(-time.Hour)}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			if _, _, err := s.ListJobs(ctx, tc.f); err != nil { // warm the cache
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := s.ListJobs(ctx, tc.f); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
		})
	}
}
