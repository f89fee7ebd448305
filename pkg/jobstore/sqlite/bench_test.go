package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/jobstore"
	"github.com/brine-project/brine/pkg/jobstore/sqlite"
)

// BenchmarkWriterSQLite measures 1 KiB returns persisted per second into
// the embedded store through the batching writer.
func BenchmarkWriterSQLite(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "jobs.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	w, err := jobstore.NewWriter(s, jobstore.WriterOptions{MaxBatch: 2000, SpoolDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ret := json.RawMessage(`{"stdout": "` + strings.Repeat("x", 1000) + `"}`)
	const rows = 10000
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		jid := fmt.Sprintf("%s%06d_bench", now.UTC().Format("20060102150405"), i)
		for m := 0; m < rows; m++ {
			if err := w.Add(jobstore.Return{JID: jid, Minion: fmt.Sprint("minion", m), Success: true, Return: ret, Received: now}); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}
