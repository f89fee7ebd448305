package state

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Brine", "-c", "user.email=brine@test.invalid", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// localRepo makes a bare repository with one commit on main and returns
// its path and a working clone to push more commits from.
func localRepo(t *testing.T) (bare, work string) {
	t.Helper()
	dir := t.TempDir()
	bare, work = filepath.Join(dir, "repo.git"), filepath.Join(dir, "work")
	gitCmd(t, dir, "init", "-q", "--bare", bare)
	gitCmd(t, dir, "clone", "-q", bare, work)
	commitFile(t, work, "README", "v1\n")
	return bare, work
}

func commitFile(t *testing.T, work, name, content string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, work, "add", name)
	gitCmd(t, work, "commit", "-q", "-m", "update "+name)
	gitCmd(t, work, "push", "-q", "origin", "HEAD:main")
	return gitCmd(t, work, "rev-parse", "HEAD")
}

func TestGitLatest(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip(err)
	}
	bare, work := localRepo(t)
	target := filepath.Join(t.TempDir(), "checkout")
	sls := func(extra string) map[string]string {
		return map[string]string{"s.sls": "co:\n  git.latest:\n    - name: file://" + bare + "\n    - target: " + target + "\n" + extra}
	}
	head := func() string { return gitCmd(t, target, "rev-parse", "HEAD") }
	rev := func(r Results) map[string]any { m, _ := byID(r, "co").Changes["revision"].(map[string]any); return m }

	// clone (test mode first: nothing created)
	res, err := applyTree(t, sls(""), Options{Test: true}, "s")
	if err != nil {
		t.Fatal(err)
	}
	if r := byID(res, "co"); r.Result != None {
		t.Fatalf("test clone: %+v", r)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatal("test mode cloned")
	}
	first, _ := twice(t, sls(""), Options{})
	v1 := gitCmd(t, work, "rev-parse", "HEAD")
	if head() != v1 || rev(first)["new"] != v1 || gitCmd(t, target, "rev-parse", "--abbrev-ref", "HEAD") != "main" {
		t.Fatalf("clone: head %s, changes %v", head(), byID(first, "co").Changes)
	}

	// a new upstream commit is fetched and checked out
	v2 := commitFile(t, work, "README", "v2\n")
	first, _ = twice(t, sls(""), Options{})
	if head() != v2 || rev(first)["old"] != v1 || rev(first)["new"] != v2 {
		t.Fatalf("update: head %s changes %v", head(), byID(first, "co").Changes)
	}

	// local changes block the update unless force_reset
	v3 := commitFile(t, work, "README", "v3\n")
	os.WriteFile(filepath.Join(target, "README"), []byte("local edit\n"), 0o644)
	res, err = applyTree(t, sls(""), Options{}, "s")
	if err != nil {
		t.Fatal(err)
	}
	if r := byID(res, "co"); r.Result != False || !strings.Contains(r.Comment, "force_reset") {
		t.Fatalf("local changes: %+v", r)
	}
	twice(t, sls("    - force_reset: true\n"), Options{})
	if head() != v3 || readFile(t, filepath.Join(target, "README")) != "v3\n" {
		t.Fatal("force_reset did not reset")
	}

	// a tag checks out detached
	gitCmd(t, work, "tag", "v1.0", v1)
	gitCmd(t, work, "push", "-q", "origin", "v1.0")
	twice(t, sls("    - rev: v1.0\n    - force_reset: true\n"), Options{})
	if head() != v1 || readFile(t, filepath.Join(target, "README")) != "v1\n" {
		t.Fatalf("tag: head %s", head())
	}
}
