package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/jobstore"
	"github.com/brine-project/brine/pkg/jobstore/postgres"
	"github.com/brine-project/brine/pkg/jobstore/storetest"
	"github.com/brine-project/brine/pkg/pgtest"
)

// open returns a store in a fresh schema of the shared test server.
func open(t *testing.T) *postgres.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, pgtest.SchemaURL(t), postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) jobstore.Store { return open(t) })
}
