package module

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func pillarEnv() *Env {
	return &Env{Pillar: map[string]any{
		"web": map[string]any{
			"port":  int64(80),
			"sites": []any{"a", "b"},
			"repo":  map[string]any{"url": "https://git.example.com/x.git"},
		},
		"users": []any{"alice"},
	}}
}

func TestPillarFunctions(t *testing.T) {
	tests := []struct {
		name   string
		fun    string
		args   []any
		kwargs map[string]any
		want   any
	}{
		{"get path", "pillar.get", []any{"web:repo:url"}, nil, "https://git.example.com/x.git"},
		{"get default", "pillar.get", []any{"web:nope", "dflt"}, nil, "dflt"},
		{"get salt default is empty string", "pillar.get", []any{"nope"}, nil, ""},
		{"get list index", "pillar.get", []any{"web:sites:1"}, nil, "b"},
		{"get custom delimiter", "pillar.get", []any{"web.port"}, map[string]any{"delimiter": "."}, int64(80)},
		{"get merge dict", "pillar.get", []any{"web"}, map[string]any{"default": map[string]any{"port": int64(1), "user": "www"}, "merge": true},
			map[string]any{"port": int64(80), "user": "www", "sites": []any{"a", "b"}, "repo": map[string]any{"url": "https://git.example.com/x.git"}}},
		{"get merge list", "pillar.get", []any{"users"}, map[string]any{"default": []any{"root", "alice"}, "merge": true}, []any{"root", "alice"}},
		{"get cli kwarg", "pillar.get", []any{"web:nope", "default=7"}, nil, int64(7)},
		{"fetch alias", "pillar.fetch", []any{"web:port"}, nil, int64(80)},
		{"item", "pillar.item", []any{"web:port", "missing"}, nil, map[string]any{"web:port": int64(80), "missing": ""}},
		{"items subset", "pillar.items", []any{"users"}, nil, map[string]any{"users": []any{"alice"}}},
		{"raw key", "pillar.raw", []any{"web:port"}, nil, int64(80)},
		{"keys", "pillar.keys", []any{"web"}, nil, []string{"port", "repo", "sites"}},
		{"ls", "pillar.ls", nil, nil, []string{"users", "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Default.Call(context.Background(), pillarEnv(), tt.fun, tt.args, tt.kwargs)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestPillarItemsIsACopy(t *testing.T) {
	env := pillarEnv()
	got, err := Default.Call(context.Background(), env, "pillar.items", nil, map[string]any{"pillar": map[string]any{"web": map[string]any{"port": int64(9)}}})
	if err != nil {
		t.Fatal(err)
	}
	m := got.(map[string]any)
	if m["web"].(map[string]any)["port"] != int64(9) || m["web"].(map[string]any)["sites"] == nil {
		t.Fatalf("override not merged: %v", m)
	}
	if env.Pillar["web"].(map[string]any)["port"] != int64(80) {
		t.Fatal("pillar.items changed the minion's pillar")
	}
}

func TestPillarErrors(t *testing.T) {
	tests := []struct {
		name string
		fun  string
		args []any
		kw   map[string]any
	}{
		{"keys of a scalar", "pillar.keys", []any{"web:port"}, nil},
		{"keys of missing", "pillar.keys", []any{"nope"}, nil},
		{"merge with scalar default", "pillar.get", []any{"web"}, map[string]any{"default": "x", "merge": true}},
		{"get without key", "pillar.get", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Default.Call(context.Background(), pillarEnv(), tt.fun, tt.args, tt.kw); err == nil {
				t.Fatal("want an error")
			}
		})
	}
	_, err := Default.Call(context.Background(), pillarEnv(), "pillar.get", nil, nil)
	if !errors.Is(err, ErrBadArgs) {
		t.Fatalf("missing key: %v", err)
	}
}
