package minion

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLocalStateRunPillarenv: a masterless state run renders with the
// pillar of the pillarenv it asks for.
func TestLocalStateRunPillarenv(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"salt/show.sls":          "show:\n  test.succeed_without_changes:\n    - name: color-{{ pillar.get('color', 'none') }}\n",
		"pillar/base/top.sls":    "base:\n  '*':\n    - common\n",
		"pillar/base/common.sls": "color: blue\n",
		"pillar/dev/top.sls":     "dev:\n  '*':\n    - common\n",
		"pillar/dev/common.sls":  "color: green\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{ID: "ci", DataDir: filepath.Join(dir, "data"),
		FileRoots:   map[string][]string{"base": {filepath.Join(dir, "salt")}},
		PillarRoots: map[string][]string{"base": {filepath.Join(dir, "pillar/base")}, "dev": {filepath.Join(dir, "pillar/dev")}}}
	cfg.Defaults()
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"show", "pillarenv=base"}, "color-blue"},
		{[]any{"show", "pillarenv=dev"}, "color-green"},
		{[]any{"show", "pillarenv=dev", `pillar={"color": "red"}`}, "color-red"},
	} {
		ret, code, err := Local(context.Background(), cfg, slog.New(slog.DiscardHandler), nil, "state.sls", tc.args)
		if err != nil || code != 0 {
			t.Fatalf("%v: code %d, err %v, ret %v", tc.args, code, err, ret)
		}
		if got := fmt.Sprint(ret); !strings.Contains(got, "_|-show_|-"+tc.want+"_|-") {
			t.Errorf("%v: %s", tc.args, got)
		}
	}
}
