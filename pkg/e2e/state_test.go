package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHighstateThroughMaster applies the repository's example tree (states/
// and pillar/) to a real minion through the master: SLS, templates and
// pillar travel over the encrypted channel; a second run changes nothing.
func TestHighstateThroughMaster(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	extra := fmt.Sprintf("file_roots: {base: [%s]}\npillar_roots: {base: [%s]}\nauto_accept: true\n",
		filepath.Join(repo, "states"), filepath.Join(repo, "pillar"))
	c := newCluster(t, "", extra, "")
	c.startMinion("web1", "web")
	c.waitConnected("web1")
	root := filepath.Join(c.dir, "root")
	args := []string{"state", "apply", "web1", "exclude=web.users", `pillar={"demo": {"prefix": "` + root + `"}}`}

	first := parseRun(t, mustRun(t, c, append(args, "--out", "json")...))
	states, ok := first.Returns["web1"].Return.(map[string]any)
	if !ok || len(states) < 10 {
		t.Fatalf("state run: %v", first.Returns["web1"].Return)
	}
	changed := 0
	for key, v := range states {
		st := v.(map[string]any)
		if len(strings.Split(key, "_|-")) != 4 || st["result"] != true || st["__run_num__"] == nil || st["duration"] == nil {
			t.Errorf("%s: %v", key, st)
		}
		if ch, _ := st["changes"].(map[string]any); len(ch) > 0 {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("the first run changed nothing")
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc", "motd")); err != nil || !strings.Contains(string(b), "web1") {
		t.Fatalf("motd: %q, %v", b, err)
	}

	out := mustRun(t, c, append(args, "--out", "highstate")...)
	if !strings.Contains(out, "Summary for web1") || !strings.Contains(out, "(changed=0)") || !strings.Contains(out, "Failed:    0") {
		t.Fatalf("second run, highstate output:\n%s", out)
	}
}
