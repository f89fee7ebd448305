package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// memLoader serves templates from a map.
type memLoader map[string]string

func (m memLoader) Load(_ context.Context, name string) ([]byte, error) {
	s, ok := m[name]
	if !ok {
		return nil, ErrNotFound
	}
	return []byte(s), nil
}

func TestRenderText(t *testing.T) {
	c := Context{Grains: map[string]any{"id": "m1"}, Pillar: map[string]any{"a": map[string]any{"b": "deep"}}}
	tests := []struct {
		name, engine, src, want string
	}{
		{"keeps trailing newline", "jinja", "host {{ grains.id }}\n", "host m1\n"},
		{"no autoescape", "jinja", "{{ '<&>' }}", "<&>"},
		{"pillar path", "jinja", "{{ pillar.get('a:b') }}|{{ pillar.get('a:c', 'd') }}", "deep|d"},
		{"django", "django", "{{ grains.id }} {{ '<b>' }}", "m1 <b>"},
		{"django salt call", "django", `{{ salt.pillar.get("a:b") }}`, "deep"},
		{"trailing commas", "jinja", "{% set d = {'x': [1, 2,],} %}{{ d.x | json }}", "[1, 2]"},
		{"dict update in place", "jinja", "{% set d = {'a': {'b': 1}} %}{% do d.a.update({'c': 2}) %}{{ d.a | json }}", `{"b": 1, "c": 2}`},
		{"append in loop", "jinja", "{% set l = [] %}{% for i in [1, 2] %}{% if i %}{% do l.append(i) %}{% endif %}{% endfor %}{{ l | json }}", "[1, 2]"},
		{"append into dict", "jinja", "{% set d = {'l': []} %}{% for i in [3] %}{% do d.l.append(i) %}{% endfor %}{{ d | json }}", `{"l": [3]}`},
		{"load_yaml block", "jinja", "{% load_yaml as y %}a: [1]{% endload %}{{ y.a[0] }}", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderText(context.Background(), "t.txt", []byte(tt.src), c, nil, tt.engine)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	ctx := context.Background()
	loader := memLoader{
		"self.jinja":  `{% import "self.jinja" as s %}`,
		"escape.sls":  `{% include "../../etc/passwd" %}`,
		"needs.jinja": `{{ salt['cmd.run']('x') }}`,
	}
	tests := []struct {
		name, src, want string
	}{
		{"no caller", "a: {{ salt['cmd.run']('ls') }}", "no execution-function caller"},
		{"import cycle", `{% import "self.jinja" as s %}`, "nested more than"},
		{"path escape", `{% include "../x.jinja" %}`, "escapes the file root"},
		{"missing include", `{% include "nope.jinja" %}`, "not found"},
		{"json as last stage only", "#!yaml|jinja\na: 1", "must be last"},
		{"text renderer last", "#!jinja\na: 1", "must be followed"},
		{"error in included file", `{% include "needs.jinja" %}`, "needs.jinja:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(ctx, "top.sls", []byte(tt.src), Context{}, loader)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("error %T is not *render.Error", err)
			}
		})
	}
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Render(ctx, "a.sls", []byte("a: 1"), Context{}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestDefiningScope(t *testing.T) {
	root := exec.NewContext(map[string]any{"x": 1})
	mid := root.Inherit()
	mid.Set("y", 2)
	leaf := mid.Inherit()
	if got := definingScope(leaf, "x"); got != root {
		t.Fatalf("x defined in %p, want root %p (gonja's Context layout changed?)", got, root)
	}
	if got := definingScope(leaf, "y"); got != mid {
		t.Fatalf("y defined in %p, want mid %p", got, mid)
	}
	if got := definingScope(leaf, "z"); got != nil {
		t.Fatalf("z found in %p", got)
	}
}

func TestFilterBy(t *testing.T) {
	lookup := NewMap()
	lookup.Set("Red*", "redhat-like")
	lookup.Set("Debian", map[string]any{"pkg": "apt"})
	lookup.Set("default", map[string]any{"pkg": "none"})
	tests := []struct {
		name   string
		grains map[string]any
		kw     map[string]any
		want   string
	}{
		{"exact", map[string]any{"os_family": "Debian"}, nil, "map[pkg:apt]"},
		{"glob", map[string]any{"os_family": "RedHat"}, nil, "redhat-like"},
		{"default", map[string]any{"os_family": "Arch"}, nil, "map[pkg:none]"},
		{"other grain", map[string]any{"os": "Debian"}, map[string]any{"grain": "os"}, "map[pkg:apt]"},
		{"merge", map[string]any{"os_family": "Debian"}, map[string]any{"merge": map[string]any{"extra": 1}}, "map[extra:1 pkg:apt]"},
		{"list grain", map[string]any{"roles": []any{"x", "Debian"}}, map[string]any{"grain": "roles"}, "map[pkg:apt]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kw := map[string]any{}
			for k, v := range tt.kw {
				kw[k] = v
			}
			got, err := FilterBy(tt.grains, []any{lookup}, kw)
			if err != nil {
				t.Fatal(err)
			}
			if s := fmt.Sprint(got); s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

func TestImportContext(t *testing.T) {
	loader := memLoader{"m.jinja": `{% set y = x | default('unseen') %}{% set g = grains.id %}`}
	c := Context{Grains: map[string]any{"id": "m1"}}
	tests := []struct{ name, src, want string }{
		{"without context", `{% set x = 1 %}{% from "m.jinja" import y, g %}{{ y }} {{ g }}`, "unseen m1"},
		{"with context", `{% set x = 1 %}{% from "m.jinja" import y with context %}{{ y }}`, "1"},
		{"module with context", `{% set x = 2 %}{% import "m.jinja" as m with context %}{{ m.y }}`, "2"},
		{"undefined name", `{% from "m.jinja" import nope %}`, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderText(context.Background(), "t", []byte(tt.src), c, loader, "jinja")
			if tt.want == "error" {
				if err == nil || !strings.Contains(err.Error(), `does not define "nope"`) {
					t.Fatalf("got %q %v", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q %v, want %q", got, err, tt.want)
			}
		})
	}
}

// TestConcurrentRender runs renders in parallel (with -race it checks the
// shared filter and control-structure sets are only read).
func TestConcurrentRender(t *testing.T) {
	src, err := os.ReadFile("testdata/mapjinja.sls")
	if err != nil {
		t.Fatal(err)
	}
	c := loadContext(t)
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			_, err := Render(context.Background(), "mapjinja.sls", src, c, dirLoader("testdata"))
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkRenderMapJinja(b *testing.B) {
	src, err := os.ReadFile("testdata/mapjinja.sls")
	if err != nil {
		b.Fatal(err)
	}
	c := loadContext(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(context.Background(), "mapjinja.sls", src, c, dirLoader("testdata")); err != nil {
			b.Fatal(err)
		}
	}
}
