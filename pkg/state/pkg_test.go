package state

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brine-project/brine/pkg/state/pkgmgr"
)

const testPkg = "brine-test-hello"

// buildDeb builds testdata/brine-test-hello at version into dir.
func buildDeb(t *testing.T, dir, version string) string {
	t.Helper()
	root := filepath.Join(dir, "root-"+version)
	if err := exec.Command("cp", "-a", "testdata/brine-test-hello", root).Run(); err != nil {
		t.Fatal(err)
	}
	ctl := filepath.Join(root, "DEBIAN/control")
	b, _ := os.ReadFile(ctl)
	os.WriteFile(ctl, []byte(strings.ReplaceAll(string(b), "VERSION", version)), 0o644)
	out := filepath.Join(dir, testPkg+"_"+version+"_all.deb")
	if msg, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, out).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v: %s", err, msg)
	}
	return out
}

func TestPkgStates(t *testing.T) {
	if _, err := pkgmgr.Detect(); err != nil {
		t.Skip(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	purge := func() { exec.Command("dpkg", "--purge", testPkg).Run() }
	purge()
	t.Cleanup(purge)
	dir := t.TempDir()
	v1, v2 := buildDeb(t, dir, "1.0-1"), buildDeb(t, dir, "2.0-1")
	steps := []struct {
		name    string
		sls     string
		changed map[string][2]string // package → old,new on the first run
		check   func(t *testing.T)
	}{
		{"install from sources", "p:\n  pkg.installed:\n    - sources:\n      - " + testPkg + ": " + v1 + "\n",
			map[string][2]string{testPkg: {"", "1.0-1"}}, func(t *testing.T) {
				if _, err := os.Stat("/usr/share/brine-test-hello/hello.txt"); err != nil {
					t.Fatal(err)
				}
			}},
		{"installed by name and version", "p:\n  pkg.installed:\n    - name: " + testPkg + "\n    - version: '1.0'\n", nil, nil},
		{"pkgs list with a version spec", "p:\n  pkg.installed:\n    - pkgs:\n      - " + testPkg + ": '>=1.0'\n", nil, nil},
		{"latest is installed already", "p:\n  pkg.latest:\n    - name: " + testPkg + "\n", nil, nil},
		{"upgrade from salt:// source", "p:\n  pkg.installed:\n    - sources:\n      - " + testPkg + ": salt://debs/v2.deb\n",
			map[string][2]string{testPkg: {"1.0-1", "2.0-1"}}, nil},
		{"removed", "p:\n  pkg.removed:\n    - name: " + testPkg + "\n",
			map[string][2]string{testPkg: {"2.0-1", ""}}, func(t *testing.T) {
				if _, err := os.Stat("/usr/share/brine-test-hello/hello.txt"); !os.IsNotExist(err) {
					t.Fatal("file still installed")
				}
			}},
		{"reinstall", "p:\n  pkg.installed:\n    - sources:\n      - " + testPkg + ": " + v1 + "\n", map[string][2]string{testPkg: {"", "1.0-1"}}, nil},
		{"purged", "p:\n  pkg.purged:\n    - pkgs: [" + testPkg + "]\n", map[string][2]string{testPkg: {"1.0-1", ""}}, func(t *testing.T) {
			if out, _ := exec.Command("dpkg-query", "-W", testPkg).CombinedOutput(); !strings.Contains(string(out), "no packages found") {
				t.Fatalf("still known to dpkg: %s", out)
			}
		}},
	}
	debs, _ := os.ReadFile(v2)
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			files := map[string]string{"s.sls": st.sls, "debs/v2.deb": string(debs)}
			// test=True: would-be changes, nothing installed or removed.
			before, _ := pkgmgr.Dpkg{}.List(context.Background())
			res, err := New(nil, Deps{Files: writeTree(t, files), Renderer: YAMLRenderer{}}, Options{Test: true}).ApplySLS(context.Background(), "s")
			if err != nil {
				t.Fatal(err)
			}
			r := byID(res, "p")
			after, _ := pkgmgr.Dpkg{}.List(context.Background())
			if before[testPkg] != after[testPkg] {
				t.Fatal("test=True changed the package")
			}
			if st.changed != nil && (r.Result != None || len(r.Changes) == 0) || st.changed == nil && r.Result != True {
				t.Fatalf("test run: %v %v %s", r.Result, r.Changes, r.Comment)
			}
			first, _ := twice(t, files, Options{})
			r = byID(first, "p")
			if r.Result != True {
				t.Fatalf("first run: %s", r.Comment)
			}
			for p, want := range st.changed {
				ch, _ := r.Changes[p].(map[string]any)
				if ch["old"] != want[0] || ch["new"] != want[1] {
					t.Fatalf("changes %v, want %s %v", r.Changes, p, want)
				}
			}
			if st.changed == nil && len(r.Changes) > 0 {
				t.Fatalf("unexpected changes %v", r.Changes)
			}
			if st.check != nil {
				st.check(t)
			}
		})
	}
}
