package render

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// dirLoader serves templates from a directory, as the file server would.
type dirLoader string

func (d dirLoader) Load(_ context.Context, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(string(d), filepath.FromSlash(name)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return b, err
}

// fakeCaller answers a few execution functions and records the calls.
type fakeCaller struct{ calls []string }

func (f *fakeCaller) Call(_ context.Context, fun string, args []any, kwargs map[string]any) (any, error) {
	keys := make([]string, 0, len(kwargs))
	for k := range kwargs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	f.calls = append(f.calls, fmt.Sprintf("%s%v%v", fun, args, keys))
	switch fun {
	case "cmd.run":
		s := fmt.Sprintf("ran %v", args[0])
		if kwargs["python_shell"] == true {
			s += " in a shell"
		}
		return s, nil
	case "test.echo":
		return map[string]any{"text": kwargs["text"], "count": kwargs["count"]}, nil
	}
	return nil, fmt.Errorf("function %q is not available", fun)
}

func loadContext(t testing.TB) Context {
	t.Helper()
	b, err := os.ReadFile("testdata/context.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeYAML(b)
	if err != nil {
		t.Fatal(err)
	}
	m := Plain(v).(map[string]any)
	return Context{
		Grains:  m["grains"].(map[string]any),
		Pillar:  m["pillar"].(map[string]any),
		Opts:    m["opts"].(map[string]any),
		Saltenv: m["saltenv"].(string),
	}
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.sls")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".sls"), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c := loadContext(t)
			c.Salt = &fakeCaller{}
			data, err := Render(context.Background(), name, src, c, dirLoader("testdata"))
			var got string
			if strings.HasPrefix(name, "err_") {
				if err == nil {
					t.Fatalf("want an error, got data %v", data)
				}
				var re *Error
				if !errors.As(err, &re) {
					t.Fatalf("error is %T, want *render.Error: %v", err, err)
				}
				got = err.Error() + "\n"
			} else {
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				b, err := yaml.Marshal(data)
				if err != nil {
					t.Fatal(err)
				}
				got = string(b)
			}
			golden := strings.TrimSuffix(file, ".sls") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}
