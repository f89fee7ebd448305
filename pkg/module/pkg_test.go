package module

import (
	"context"
	"os/exec"
	"testing"
)

func TestPkgQueries(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	all, err := Default.Call(ctx, nil, "pkg.list_pkgs", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := all.(map[string]any)["dpkg"].(string); v == "" {
		t.Fatal("pkg.list_pkgs does not list dpkg")
	}
	cases := []struct {
		args    []any
		nonzero bool
	}{{[]any{"dpkg"}, true}, {[]any{"brine-no-such-package"}, false}}
	for _, tc := range cases {
		t.Run(tc.args[0].(string), func(t *testing.T) {
			v, err := Default.Call(ctx, nil, "pkg.version", tc.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			if s := v.(string); (s != "") != tc.nonzero {
				t.Fatalf("pkg.version %v = %q", tc.args, s)
			}
		})
	}
	v, err := Default.Call(ctx, nil, "pkg.version", []any{"dpkg", "brine-no-such-package"}, nil)
	if err != nil || len(v.(map[string]any)) != 2 {
		t.Fatalf("several names: %v %v", v, err)
	}
}
