package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const secret = "s3cr3t-only-for-web1"

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPillarAndFiles: pillar compiled per minion on the master, sent only to
// that minion, usable for targeting, never logged; salt:// files fetched
// over the encrypted channel and downloaded again only when they change.
func TestPillarAndFiles(t *testing.T) {
	tree := t.TempDir()
	writeTree(t, filepath.Join(tree, "pillar"), map[string]string{
		"top.sls":    "base:\n  '*':\n    - common\n  'web1':\n    - secret\n",
		"common.sls": "role_pillar: {{ grains['role'] }}\nsite:\n  name: example\n",
		"secret.sls": "db_password: " + secret + "\n",
	})
	writeTree(t, filepath.Join(tree, "salt"), map[string]string{
		"hello.txt": strings.Repeat("hello brine\n", 1000),
	})
	extra := fmt.Sprintf("file_roots: {base: [%s]}\npillar_roots: {base: [%s]}\nauto_accept: true\n",
		filepath.Join(tree, "salt"), filepath.Join(tree, "pillar"))
	c := newCluster(t, "", extra, "")
	c.startMinion("web1", "web")
	c.startMinion("db1", "db")
	c.waitConnected("web1", "db1")

	t.Run("each minion gets its own pillar", func(t *testing.T) {
		out := parseRun(t, mustRun(t, c, "run", "--out", "json", "*", "pillar.get", "db_password"))
		if out.Returns["web1"].Return != secret || out.Returns["db1"].Return != "" {
			t.Fatalf("pillar.get db_password: %+v", out.Returns)
		}
		items := parseRun(t, mustRun(t, c, "run", "--out", "json", "db1", "pillar.items"))
		if strings.Contains(fmt.Sprint(items.Returns["db1"].Return), secret) {
			t.Fatal("db1's pillar holds web1's secret")
		}
	})

	t.Run("pillar targeting", func(t *testing.T) {
		c.eventually("pillar cached for targeting", 10*time.Second, func() error {
			_, _, code := c.ctl("run", "-I", "role_pillar:db", "test.ping")
			if code != 0 {
				return fmt.Errorf("exit %d", code)
			}
			return nil
		})
		out := parseRun(t, mustRun(t, c, "run", "--out", "json", "-C", "I@role_pillar:db or I@site:name:nomatch", "test.ping"))
		if got := returned(out); !reflect.DeepEqual(got, []string{"db1"}) {
			t.Fatalf("I@ returned %v", got)
		}
	})

	t.Run("job pillar overrides", func(t *testing.T) {
		out := parseRun(t, mustRun(t, c, "run", "--out", "json", "--pillar", `{"site": {"branch": "f5d9859"}}`, "db1", "pillar.get", "site"))
		got, _ := out.Returns["db1"].Return.(map[string]any)
		if got["branch"] != "f5d9859" || got["name"] != "example" {
			t.Fatalf("merged pillar: %v", out.Returns["db1"].Return)
		}
	})

	t.Run("files only travel when changed", func(t *testing.T) {
		served := func() float64 {
			h, err := c.cl.Health(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return h.Details["file_bytes_served"].(float64)
		}
		dest := filepath.Join(c.dir, "copy.txt")
		before := served()
		mustRun(t, c, "run", "db1", "cp.get_file", "salt://hello.txt", dest)
		first := served() - before
		if first != 12000 {
			t.Fatalf("first fetch served %v bytes, want 12000", first)
		}
		if b, err := os.ReadFile(dest); err != nil || len(b) != 12000 {
			t.Fatalf("copy: %d bytes, %v", len(b), err)
		}
		mustRun(t, c, "run", "db1", "cp.get_file", "salt://hello.txt", dest)
		if again := served() - before - first; again != 0 {
			t.Fatalf("unchanged file fetched again: %v bytes", again)
		}
		writeTree(t, filepath.Join(tree, "salt"), map[string]string{"hello.txt": "changed\n"})
		mustRun(t, c, "run", "db1", "cp.get_file", "salt://hello.txt", dest)
		if b, _ := os.ReadFile(dest); string(b) != "changed\n" {
			t.Fatalf("changed file not fetched: %q", b)
		}
		stdout, _, code := c.ctl("run", "--out", "json", "db1", "cp.get_file", "salt://../pillar/secret.sls", dest+".x")
		ret := fmt.Sprint(parseRun(t, stdout).Returns["db1"].Return)
		if _, err := os.Stat(dest + ".x"); err == nil || code != 1 || !strings.Contains(ret, "escapes") {
			t.Fatalf("a path escaping file_roots: exit %d, return %q", code, ret)
		}
	})

	t.Run("pillar never logged", func(t *testing.T) {
		for _, n := range []string{"master", "web1", "db1"} {
			b, err := os.ReadFile(filepath.Join(c.dir, n+".log"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), secret) {
				t.Errorf("%s.log (log_level debug) contains the pillar secret", n)
			}
		}
	})
}

func mustRun(t *testing.T, c *cluster, args ...string) string {
	t.Helper()
	stdout, stderr, code := c.ctl(args...)
	if code != 0 {
		t.Fatalf("brinectl %v: exit %d: %s\n%s", args, code, stderr, stdout)
	}
	return stdout
}
