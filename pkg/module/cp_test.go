package module

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/brine-project/brine/pkg/fileserver"
)

// cpRuntime is a minion runtime whose file client is a real cache over a
// local file server.
type cpRuntime struct {
	*fileserver.Cache
}

func (cpRuntime) Running() []JobInfo                                    { return nil }
func (cpRuntime) Kill(string) error                                     { return nil }
func (cpRuntime) RefreshGrains(context.Context) (map[string]any, error) { return nil, nil }
func (cpRuntime) RefreshPillar(context.Context) (map[string]any, error) { return nil, nil }

func cpFixture(t *testing.T) (*Env, string) {
	t.Helper()
	roots := t.TempDir()
	files := map[string]string{
		"nginx/nginx.conf":       "worker_processes {{ grains.cpus }};\n",
		"nginx/conf.d/site.conf": "server {}\n",
		"motd":                   "hello\n",
		"app/main.conf":          "{% include 'app/part.conf' %}end\n",
		"app/part.conf":          "part for {{ grains.cpus }} cpus\n",
	}
	for p, c := range files {
		full := filepath.Join(roots, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := fileserver.New(fileserver.Config{FileRoots: map[string][]string{"base": {roots}}})
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{
		Grains:  map[string]any{"cpus": int64(4)},
		Runtime: cpRuntime{fileserver.NewCache(t.TempDir(), s)},
	}
	return env, t.TempDir()
}

func TestCPFunctions(t *testing.T) {
	ctx := context.Background()
	env, dest := cpFixture(t)
	call := func(fun string, args []any, kw map[string]any) any {
		t.Helper()
		v, err := Default.Call(ctx, env, fun, args, kw)
		if err != nil {
			t.Fatalf("%s: %v", fun, err)
		}
		return v
	}

	t.Run("get_file", func(t *testing.T) {
		out := call("cp.get_file", []any{"salt://motd", filepath.Join(dest, "motd")}, nil)
		if b, _ := os.ReadFile(out.(string)); string(b) != "hello\n" {
			t.Fatalf("content %q", b)
		}
	})
	t.Run("get_file into directory with template and makedirs", func(t *testing.T) {
		out := call("cp.get_file", []any{"salt://nginx/nginx.conf", filepath.Join(dest, "etc/nginx") + "/"}, map[string]any{"template": "jinja", "makedirs": true})
		if out != filepath.Join(dest, "etc/nginx/nginx.conf") {
			t.Fatalf("dest %v", out)
		}
		if b, _ := os.ReadFile(out.(string)); string(b) != "worker_processes 4;\n" {
			t.Fatalf("rendered %q", b)
		}
	})
	t.Run("template includes through the file client", func(t *testing.T) {
		out := call("cp.get_file", []any{"salt://app/main.conf", filepath.Join(dest, "main.conf")}, map[string]any{"template": "jinja"})
		if b, _ := os.ReadFile(out.(string)); string(b) != "part for 4 cpus\nend\n" {
			t.Fatalf("rendered %q", b)
		}
	})
	t.Run("get_file missing returns empty", func(t *testing.T) {
		if out := call("cp.get_file", []any{"salt://nope", filepath.Join(dest, "nope")}, nil); out != "" {
			t.Fatalf("got %v", out)
		}
	})
	t.Run("get_dir", func(t *testing.T) {
		out := call("cp.get_dir", []any{"salt://nginx", dest}, nil).([]string)
		sort.Strings(out)
		want := []string{filepath.Join(dest, "nginx/conf.d/site.conf"), filepath.Join(dest, "nginx/nginx.conf")}
		if !reflect.DeepEqual(out, want) {
			t.Fatalf("got %v, want %v", out, want)
		}
	})
	t.Run("cache_file", func(t *testing.T) {
		local := call("cp.cache_file", []any{"salt://motd"}, nil).(string)
		if b, _ := os.ReadFile(local); string(b) != "hello\n" {
			t.Fatalf("cached %q", b)
		}
		if out := call("cp.cache_file", []any{"salt://nope"}, nil); out != "" {
			t.Fatalf("missing: %v", out)
		}
	})
	t.Run("list_master", func(t *testing.T) {
		got := call("cp.list_master", nil, map[string]any{"prefix": "nginx/"})
		want := []string{"nginx/conf.d/site.conf", "nginx/nginx.conf"}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("hash_file", func(t *testing.T) {
		got := call("cp.hash_file", []any{"salt://motd"}, nil)
		want := map[string]any{"hash_type": "sha256", "hsum": fileserver.HashBytes([]byte("hello\n"))}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %v", got)
		}
		local := call("cp.hash_file", []any{filepath.Join(dest, "motd")}, nil)
		if !reflect.DeepEqual(local, want) {
			t.Fatalf("local hash %v", local)
		}
	})
}

func TestCPErrors(t *testing.T) {
	ctx := context.Background()
	env, dest := cpFixture(t)
	tests := []struct {
		name string
		env  *Env
		fun  string
		args []any
		want error
	}{
		{"no file client", &Env{}, "cp.list_master", nil, ErrNoFileClient},
		{"not a salt url", env, "cp.get_file", []any{"/etc/passwd", filepath.Join(dest, "x")}, ErrBadArgs},
		{"relative dest", env, "cp.get_file", []any{"salt://motd", "rel/x"}, ErrBadArgs},
		{"escape", env, "cp.cache_file", []any{"salt://../../etc/passwd"}, fileserver.ErrEscape},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Default.Call(ctx, tt.env, tt.fun, tt.args, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}
