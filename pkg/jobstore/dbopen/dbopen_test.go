package dbopen

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/brine-project/brine/pkg/jobstore/postgres"
	"github.com/brine-project/brine/pkg/jobstore/sqlite"
	"github.com/brine-project/brine/pkg/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name     string
		database string
		env      string
		postgres bool
	}{
		{"default is sqlite in the data dir", "", "", false},
		{"sqlite path", filepath.Join(dir, "other.db"), "", false},
		{"postgres url", pgtest.SchemaURL(t), "", true},
		{"env when unset", "", pgtest.SchemaURL(t), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvDatabase, tc.env)
			s, err := Open(context.Background(), tc.database, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, isPG := s.(*postgres.Store)
			_, isLite := s.(*sqlite.Store)
			if isPG != tc.postgres || isLite == tc.postgres {
				t.Errorf("opened %T", s)
			}
			if err := s.Health(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
}
