package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/jobstore"
	"github.com/brine-project/brine/pkg/jobstore/postgres"
	"github.com/brine-project/brine/pkg/pgtest"
)

// TestWriterSurvivesOutage stops PostgreSQL while returns keep coming,
// restarts it, and counts: every return handed to the writer is stored.
func TestWriterSurvivesOutage(t *testing.T) {
	srv := pgtest.Start(t) // our own server: we stop it
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	store, err := postgres.Open(ctx, srv.URL(), postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	w, err := jobstore.NewWriter(store, jobstore.WriterOptions{
		MaxBatch: 250, MaxAge: 10 * time.Millisecond, SpoolDir: t.TempDir(),
		WriteTimeout: 3 * time.Second, RetryInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	jid := time.Now().UTC().Format("20060102150405") + "000000_outage"
	var durable atomic.Int64
	add := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			r := jobstore.Return{JID: jid, Minion: fmt.Sprintf("minion%05d", i), Success: true,
				Return: json.RawMessage(`{"i":` + fmt.Sprint(i) + `}`), Received: time.Now()}
			if err := w.AddFunc(r, func(err error) {
				if err == nil {
					durable.Add(1)
				}
			}); err != nil {
				t.Fatalf("add %d: %v", i, err)
			}
		}
	}
	add(0, 1000)
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if w.Degraded() {
		t.Fatal("degraded before the outage")
	}

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	add(1000, 3000)
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("flush during outage: %v", err)
	}
	if !w.Degraded() {
		t.Error("writer not degraded while the database is down")
	}
	if got := durable.Load(); got != 3000 {
		t.Errorf("durable callbacks during outage = %d, want 3000", got)
	}
	if st := w.Stats(); st.Spooled == 0 || st.SpoolBytes == 0 {
		t.Errorf("nothing spooled: %+v", st)
	}

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	add(3000, 3500)
	if err := w.Sync(ctx); err != nil {
		t.Fatalf("sync after restart: %v", err)
	}
	if w.Degraded() {
		t.Error("still degraded after replay")
	}
	var n int
	if err := store.Pool().QueryRow(ctx, `SELECT count(*) FROM returns WHERE jid = $1`, jid).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3500 {
		t.Errorf("stored %d returns, want 3500", n)
	}
	st := w.Stats()
	t.Logf("writer stats: %+v", st)
	if st.Replayed == 0 {
		t.Error("nothing replayed")
	}
}

// testWriter sends the writer's log lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
