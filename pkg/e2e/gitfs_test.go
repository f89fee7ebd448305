package e2e_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@brine.invalid"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestGitFSEnvironments: branches of one repository served by the master
// as environments; a minion fetches the same path from two of them.
func TestGitFSEnvironments(t *testing.T) {
	work := t.TempDir()
	git(t, work, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(work, "README"), []byte("states\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, work, "add", "README")
	git(t, work, "commit", "-q", "-m", "start")
	for _, branch := range []string{"prod", "test"} {
		git(t, work, "checkout", "-q", "-B", branch, "main")
		if err := os.WriteFile(filepath.Join(work, "motd"), []byte("served by "+branch+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, work, "add", "motd")
		git(t, work, "commit", "-q", "-m", branch)
	}
	c := newCluster(t, "", fmt.Sprintf("gitfs_remotes: ['file://%s']\nfile_roots: {}\nauto_accept: true\n", work), "")
	c.startMinion("web1", "web")
	c.waitConnected("web1")
	for _, env := range []string{"prod", "test"} {
		dest := filepath.Join(c.dir, env+".motd")
		mustRun(t, c, "run", "web1", "cp.get_file", "salt://motd", dest, "saltenv="+env)
		b, err := os.ReadFile(dest)
		if err != nil || string(b) != "served by "+env+"\n" {
			t.Fatalf("saltenv %s: %q, %v", env, b, err)
		}
	}
	out := parseRun(t, mustRun(t, c, "run", "--out", "json", "web1", "cp.list_master", "saltenv=test"))
	if fmt.Sprint(out.Returns["web1"].Return) != "[README motd]" {
		t.Fatalf("cp.list_master test: %v", out.Returns["web1"].Return)
	}
}
