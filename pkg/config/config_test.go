package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type TLS struct {
	Cert  string `yaml:"cert"`
	Ports []int  `yaml:"ports"`
}

type testConfig struct {
	ID         string            `yaml:"id"`
	Master     []string          `yaml:"master"`
	PKIDir     string            `yaml:"pki_dir"`
	AutoAccept bool              `yaml:"auto_accept"`
	Workers    int               `yaml:"workers"`
	Ratio      float64           `yaml:"ratio"`
	Timeout    time.Duration     `yaml:"timeout"`
	Retention  time.Duration     `yaml:"retention"`
	Grains     map[string]any    `yaml:"grains"`
	Labels     map[string]string `yaml:"labels"`
	TLS        *TLS              `yaml:"tls"`
	Anything   any               `yaml:"anything"`
	LogLevel   string            `yaml:"log_level"`
	Port       uint16            `yaml:"port"`
	Intervals  []time.Duration   `yaml:"intervals"`
	Ignored    string            `yaml:"-"`
}

func noEnv(string) (string, bool) { return "", false }

func envMap(m map[string]string) Options {
	return Options{Env: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

func TestLoadGood(t *testing.T) {
	cfg := testConfig{LogLevel: "info"} // a default the file leaves alone
	if err := LoadWith("testdata/good.yaml", &cfg, Options{Env: noEnv}); err != nil {
		t.Fatal(err)
	}
	want := testConfig{
		ID: "web-1", Master: []string{"10.0.0.1:4506", "10.0.0.2:4506"}, PKIDir: "/etc/brine/pki",
		AutoAccept: true, Workers: 8, Ratio: 0.5, Timeout: 30 * time.Second, Retention: 90 * 24 * time.Hour,
		Grains:   map[string]any{"role": "web", "rack": 4},
		TLS:      &TLS{Cert: "/etc/cert.pem", Ports: []int{443, 8443}},
		Anything: map[string]any{"a": []any{1, 2}},
		LogLevel: "info",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
}

// TestLoadBadReportsEverything: every problem is reported at once, each
// with file:line and the key.
func TestLoadBadReportsEverything(t *testing.T) {
	var cfg testConfig
	err := LoadWith("testdata/bad.yaml", &cfg, Options{Env: noEnv})
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		`testdata/bad.yaml:2: pki_dri: unknown key (did you mean "pki_dir"?)`,
		`testdata/bad.yaml:3: workers: want an integer, got "lots"`,
		`testdata/bad.yaml:4: timeout: duration "30" needs a unit (e.g. 30s)`,
		`testdata/bad.yaml:5: retention: invalid duration "3 days" (use e.g. 30s, 5m, 12h, 90d)`,
		`testdata/bad.yaml:6: auto_accept: want true or false, got "yes"`,
		`testdata/bad.yaml:9: tls.port: unknown key (did you mean "ports"?)`,
		`testdata/bad.yaml:10: tls.ports[1]: want an integer, got "http"`,
		`testdata/bad.yaml:11: id: duplicate key (first on line 1)`,
		`testdata/bad.yaml:12: master: want a list, got a mapping`,
	}
	var got []string
	for _, p := range ce.Problems {
		got = append(got, p.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(err.Error(), "9 problems") {
		t.Errorf("message: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"syntax", "id: a\nlog_level: info\n  bad: indent\n", ":3: mapping values are not allowed in this context"},
		{"top level list", "- a\n- b\n", ":1: want a mapping, got a list"},
		{"string for int", "workers: \"8\"\n", `:1: workers: want an integer, got "8"`},
		{"overflow", "port: 70000\n", `:1: port: want a non-negative integer of 16 bits, got "70000"`},
		{"negative uint", "port: -1\n", `port: want a non-negative integer`},
		{"list for string", "id: [a]\n", `:1: id: want text, got a list`},
		{"map values", "labels: {a: [1]}\n", `:1: labels.a: want text, got a list`},
		{"bad duration in list", "intervals: [1s, soon]\n", `intervals[1]: invalid duration "soon"`},
		{"nested mapping expected", "tls: 5\n", `:1: tls: want a mapping, got "5"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			var cfg testConfig
			err := LoadWith(path, &cfg, Options{Env: noEnv})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEnvOverlay(t *testing.T) {
	env := map[string]string{
		"BRINE_ID":          "from-env",
		"BRINE_MASTER":      "a:4506, b:4506,",
		"BRINE_AUTO_ACCEPT": "false",
		"BRINE_WORKERS":     " 3 ",
		"BRINE_RATIO":       "1.5",
		"BRINE_TIMEOUT":     "1d2h",
		"BRINE_GRAINS":      "{role: db, zone: [a, b]}",
		"BRINE_TLS":         "cert: /x.pem\nports: [1]",
		"BRINE_INTERVALS":   "1s,2m",
		"BRINE_PORT":        "4505",
		"BRINE_LABELS":      "team: core",
	}
	var cfg testConfig
	if err := LoadWith("testdata/good.yaml", &cfg, envMap(env)); err != nil {
		t.Fatal(err)
	}
	if cfg.ID != "from-env" || !reflect.DeepEqual(cfg.Master, []string{"a:4506", "b:4506"}) || cfg.AutoAccept ||
		cfg.Workers != 3 || cfg.Ratio != 1.5 || cfg.Timeout != 26*time.Hour || cfg.Port != 4505 {
		t.Fatalf("scalars: %+v", cfg)
	}
	if !reflect.DeepEqual(cfg.Grains, map[string]any{"role": "db", "zone": []any{"a", "b"}}) {
		t.Fatalf("grains %v", cfg.Grains)
	}
	if !reflect.DeepEqual(cfg.TLS, &TLS{Cert: "/x.pem", Ports: []int{1}}) {
		t.Fatalf("tls %+v", cfg.TLS)
	}
	if !reflect.DeepEqual(cfg.Intervals, []time.Duration{time.Second, 2 * time.Minute}) {
		t.Fatalf("intervals %v", cfg.Intervals)
	}
	if cfg.Labels["team"] != "core" || cfg.PKIDir != "/etc/brine/pki" {
		t.Fatalf("labels/pki_dir %+v", cfg)
	}
}

func TestEnvErrors(t *testing.T) {
	env := map[string]string{
		"BRINE_WORKERS":     "many",
		"BRINE_AUTO_ACCEPT": "maybe",
		"BRINE_TIMEOUT":     "10",
		"BRINE_TLS":         "nope: 1",
	}
	var cfg testConfig
	err := LoadWith("", &cfg, envMap(env))
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != 4 {
		t.Fatalf("err = %v", err)
	}
	for _, name := range []string{"env BRINE_WORKERS", "env BRINE_AUTO_ACCEPT", "env BRINE_TIMEOUT", "env BRINE_TLS:1: tls.nope: unknown key"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not mention %q:\n%v", name, err)
		}
	}
}

type validated struct {
	Port int `yaml:"port"`
}

func (v *validated) Validate() error {
	if v.Port == 0 {
		return errors.New("port is required")
	}
	return nil
}

func TestValidate(t *testing.T) {
	var v validated
	err := LoadWith("", &v, Options{Env: noEnv})
	if err == nil || !strings.Contains(err.Error(), "environment: port is required") {
		t.Fatalf("err = %v", err)
	}
	if err := LoadWith("", &v, envMap(map[string]string{"BRINE_PORT": "1"})); err != nil || v.Port != 1 {
		t.Fatalf("err = %v, port %d", err, v.Port)
	}
}

func TestLoadArgs(t *testing.T) {
	var n int
	if err := Load("", &n); err == nil {
		t.Fatal("accepted a non-struct destination")
	}
	var cfg testConfig
	if err := Load(filepath.Join(t.TempDir(), "missing.yaml"), &cfg); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := LoadWith(empty, &cfg, Options{Env: noEnv}); err != nil {
		t.Fatalf("empty file: %v", err)
	}
}

type inner struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
}

type withInline struct {
	inner    `yaml:",inline"`
	Name     string `yaml:"name"`
	Defaults inner  `yaml:"defaults"`
	Site     inner  `yaml:"site"`
}

func TestInlineAndMerge(t *testing.T) {
	src := "name: x\nhost: h\nport: 1\ndefaults: &d {host: dh, port: 2}\nsite:\n  <<: *d\n  port: 3\n"
	var v withInline
	if err := Decode("inline.yaml", []byte(src), &v); err != nil {
		t.Fatal(err)
	}
	want := withInline{inner: inner{Host: "h", Port: 1}, Name: "x", Defaults: inner{"dh", 2}, Site: inner{"dh", 3}}
	if v != want {
		t.Fatalf("got %+v", v)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"30s", 30 * time.Second, false},
		{"5m", 5 * time.Minute, false},
		{"90d", 90 * 24 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"1.5d", 36 * time.Hour, false},
		{"-1d", -24 * time.Hour, false},
		{"d", 0, true},
		{"1dd", 0, true},
		{"1d-1h", 0, true},
		{"forever", 0, true},
		{"999999999d", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
}
