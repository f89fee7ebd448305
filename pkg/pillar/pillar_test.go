package pillar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/brine-project/brine/pkg/target"
)

func compiler() *Compiler {
	return &Compiler{
		Roots:   map[string][]string{"base": {"testdata/base"}, "prod": {"testdata/prod"}},
		Matcher: &target.Matcher{},
	}
}

func get(p map[string]any, path string) any {
	var cur any = p
	for _, k := range strings.Split(path, ":") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func TestCompile(t *testing.T) {
	debian := map[string]any{"os_family": "Debian"}
	tests := []struct {
		name   string
		id     string
		grains map[string]any
		want   map[string]any // ":"-path → value
		absent []string
	}{
		{
			name: "web minion: glob, grain, include with key, accumulated pillar",
			id:   "web1", grains: debian,
			want: map[string]any{
				"common:ntp":              "pool.ntp.org",
				"common:admins":           []any{"debian-admin"}, // later SLS wins
				"web:port":                int64(8080),           // web.sls over common.sls
				"web:ntp_from_common":     "pool.ntp.org",
				"web:os":                  "Debian",
				"web:accounts:deploy:uid": int64(2001),
				"pkg:manager":             "apt",
				"own:minion":              nil, // no grains id given
				"web:sites":               []any{map[string]any{"name": "www.example.com", "enabled": true}, map[string]any{"name": "old.example.com", "enabled": false}},
				"app:release":             "stable",
			},
			absent: []string{"db", "cache", ErrsKey},
		},
		{
			name: "db minion: list match, no grain match",
			id:   "db2", grains: map[string]any{"os_family": "RedHat", "id": "db2"},
			want:   map[string]any{"db:engine": "postgresql", "web:port": int64(80), "own:minion": "db2"},
			absent: []string{"pkg", "cache", ErrsKey},
		},
		{
			name: "compound match",
			id:   "c1", grains: map[string]any{"role": "cache"},
			want:   map[string]any{"cache:size": "64m"},
			absent: []string{"db", "pkg"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, errs := compiler().Compile(context.Background(), tt.id, tt.grains, "", nil)
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			for path, want := range tt.want {
				if got := get(p, path); !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", path, got, want)
				}
			}
			for _, k := range tt.absent {
				if _, ok := p[k]; ok {
					t.Errorf("%s present: %v", k, p[k])
				}
			}
		})
	}
}

func TestOverridesAndStrategies(t *testing.T) {
	ctx := context.Background()
	over := map[string]any{"web": map[string]any{"port": int64(9000)}, "extra": true}
	tests := []struct {
		strategy string
		want     map[string]any
	}{
		{Smart, map[string]any{"web:port": int64(9000), "web:os": "Debian", "extra": true}},
		{Recurse, map[string]any{"web:port": int64(9000), "web:os": "Debian"}},
		// Overwrite replaces the whole top-level "web" key.
		{Overwrite, map[string]any{"web:port": int64(9000), "web:os": nil, "extra": true}},
	}
	for _, tt := range tests {
		t.Run(tt.strategy, func(t *testing.T) {
			c := compiler()
			c.MergeStrategy = tt.strategy
			p, errs := c.Compile(ctx, "web1", map[string]any{"os_family": "Debian"}, "", over)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			for path, want := range tt.want {
				if got := get(p, path); !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", path, got, want)
				}
			}
		})
	}
	c := compiler()
	c.MergeStrategy = "aggregate"
	if _, errs := c.Compile(ctx, "x", nil, "", nil); len(errs) != 1 {
		t.Fatalf("unknown strategy: %v", errs)
	}
}

func TestPillarenv(t *testing.T) {
	p, errs := compiler().Compile(context.Background(), "web1", map[string]any{"os_family": "Debian"}, "prod", nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if !reflect.DeepEqual(p, map[string]any{"app": map[string]any{"release": "stable"}}) {
		t.Fatalf("pillarenv prod: %v", p)
	}
}

func TestErrorsAreCollected(t *testing.T) {
	p, errs := compiler().Compile(context.Background(), "broken7", nil, "", nil)
	if len(errs) != 2 {
		t.Fatalf("want 2 errors (render error, missing SLS), got %v", errs)
	}
	var pe *Error
	if !errors.As(errs[0], &pe) || pe.File != "broken.sls" || pe.Line != 2 {
		t.Fatalf("first error %#v, want broken.sls:2", errs[0])
	}
	if !strings.Contains(errs[1].Error(), "does.not.exist") {
		t.Fatalf("second error %v", errs[1])
	}
	// The rest of the pillar is still there, and the errors are listed.
	if get(p, "common:ntp") != "pool.ntp.org" {
		t.Fatalf("common missing: %v", p)
	}
	if l, _ := p[ErrsKey].([]any); len(l) != 2 {
		t.Fatalf("_errors = %v", p[ErrsKey])
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	var buf bytes.Buffer
	c := compiler()
	c.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, errs := c.Compile(context.Background(), "secret1", nil, "", map[string]any{"override": "hunter2-SECRET"})
	if get(p, "db_password") != nil && len(errs) == 0 {
		t.Fatal("want the broken secret.sls to fail")
	}
	if len(errs) != 1 {
		t.Fatalf("errors %v", errs)
	}
	var pe *Error
	if !errors.As(errs[0], &pe) {
		t.Fatalf("%T", errs[0])
	}
	if strings.Contains(pe.Redacted(), "hunter2") {
		t.Fatalf("Redacted leaks: %s", pe.Redacted())
	}
	if buf.Len() == 0 {
		t.Fatal("expected a debug log line")
	}
	if strings.Contains(buf.String(), "hunter2") {
		t.Fatalf("log leaks the secret:\n%s", buf.String())
	}
	// The minion's own pillar does carry the value: it is its secret.
	b, _ := json.Marshal(p)
	if !strings.Contains(string(b), "hunter2-SECRET") {
		t.Fatalf("override missing from pillar: %s", b)
	}
}

func TestShowTop(t *testing.T) {
	got, errs := compiler().Top(context.Background(), "web1", map[string]any{"os_family": "Debian", "id": "web1"}, "")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := []Match{{Env: "base", SLS: []string{"common", "web", "debian", "own"}}, {Env: "prod", SLS: []string{"app"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("top %v, want %v", got, want)
	}
}

func TestExamplePillarTree(t *testing.T) {
	c := &Compiler{Roots: map[string][]string{"base": {"../../pillar"}}}
	p, errs := c.Compile(context.Background(), "web1", map[string]any{"id": "web1", "os_family": "Debian", "roles": []any{"web"}}, "", nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, path := range []string{"web:repo:url", "web:sites", "web:users"} {
		if get(p, path) == nil {
			t.Errorf("example pillar lacks %s: %v", path, p)
		}
	}
}

func TestStore(t *testing.T) {
	s := NewStore()
	s.Set("a", map[string]any{"x": 1})
	if p, ok := s.Get("a"); !ok || p["x"] != 1 {
		t.Fatal(p)
	}
	s.Delete("a")
	if _, ok := s.Get("a"); ok {
		t.Fatal("still there")
	}
}
