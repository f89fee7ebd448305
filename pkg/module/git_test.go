package module

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestGitCloneAndRevision(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	run := func(cwd string, args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=B", "-c", "user.email=b@test.invalid", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Dir = cwd
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %s", args, out)
		}
		return strings.TrimSpace(string(out))
	}
	run(dir, "init", "-q", "src")
	os.WriteFile(filepath.Join(dir, "src/f"), []byte("x"), 0o644)
	run(filepath.Join(dir, "src"), "add", "f")
	run(filepath.Join(dir, "src"), "commit", "-q", "-m", "one")
	want := run(filepath.Join(dir, "src"), "rev-parse", "HEAD")
	ctx := context.Background()
	if _, err := Default.Call(ctx, nil, "git.clone", []any{dir, filepath.Join(dir, "src")}, map[string]any{"name": "dst"}); err != nil {
		t.Fatal(err)
	}
	got, err := Default.Call(ctx, nil, "git.revision", []any{filepath.Join(dir, "dst")}, nil)
	if err != nil || got != want {
		t.Fatalf("git.revision = %v %v, want %s", got, err, want)
	}
	if _, err := Default.Call(ctx, nil, "git.clone", []any{dir, "/nonexistent/repo"}, map[string]any{"name": "bad"}); err == nil {
		t.Fatal("clone of a missing repository should fail")
	}
}
