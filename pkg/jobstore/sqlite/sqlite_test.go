package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/brine-project/brine/pkg/jobstore"
	"github.com/brine-project/brine/pkg/jobstore/sqlite"
	"github.com/brine-project/brine/pkg/jobstore/storetest"
)

func open(t *testing.T) jobstore.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "jobs.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, open)
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateJob(ctx, jobstore.Job{JID: "20261122000000000000_1", Fun: "test.ping"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, path, sqlite.Options{}) // migrations already applied: no-op
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetJob(ctx, "20261122000000000000_1"); err != nil {
		t.Errorf("job after reopen: %v", err)
	}
}

// TestWriterOnSQLite runs the batching writer over the embedded store:
// duplicates resent by minions are ignored and every row lands.
func TestWriterOnSQLite(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	defer s.Close()
	w, err := jobstore.NewWriter(s, jobstore.WriterOptions{MaxBatch: 100, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	jid := "20261122000000000000_w"
	if err := s.CreateJob(ctx, jobstore.Job{JID: jid, Fun: "test.ping"}); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ { // the second round is all duplicates
		for i := 0; i < 1000; i++ {
			if err := w.Add(jobstore.Return{JID: jid, Minion: fmt.Sprintf("m%04d", i), Success: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.AddEvent(jobstore.Event{Tag: "salt/job/" + jid + "/new"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := s.GetJob(ctx, jid)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Returns) != 1000 {
		t.Errorf("stored %d returns, want 1000", len(d.Returns))
	}
	if evs, err := s.ListEvents(ctx, 0, "salt/job/*", 0); err != nil || len(evs) != 1 {
		t.Errorf("events = %v, %v", evs, err)
	}
}
