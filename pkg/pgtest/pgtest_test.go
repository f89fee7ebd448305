package pgtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func query(t *testing.T, url, q string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

func TestSchemaURL(t *testing.T) {
	a, b := SchemaURL(t), SchemaURL(t)
	sa, sb := query(t, a, "SELECT current_schema()"), query(t, b, "SELECT current_schema()")
	if sa == "" || sa == sb || sa == "public" {
		t.Errorf("schemas %q and %q, want two distinct fresh schemas", sa, sb)
	}
}

func TestServerStopRestart(t *testing.T) {
	if os.Getenv(EnvURL) != "" {
		t.Log("testing the local cluster harness even though " + EnvURL + " is set")
	}
	s := Start(t)
	url := s.URL()
	if got := query(t, url, "SELECT current_user"); got != "postgres" {
		t.Errorf("current_user = %q", got)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, err := pgx.Connect(ctx, url); err == nil {
		c.Close(ctx)
		t.Fatal("connected to a stopped server")
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second stop: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got := query(t, s.URL(), "SELECT 'back'"); got != "back" {
		t.Errorf("after restart: %q", got)
	}
}
