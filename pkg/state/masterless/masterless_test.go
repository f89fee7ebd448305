package masterless

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brine-project/brine/pkg/state"
	"github.com/brine-project/brine/pkg/state/account"
)

// TestExampleTree applies the repository's states/ tree as a web minion,
// masterless, with the real renderer and matcher: test=True changes
// nothing, the first run converges, the second reports no changes.
func TestExampleTree(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (users, ownership)")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip(err)
	}
	root, err := filepath.Abs("../../../states")
	if err != nil {
		t.Fatal(err)
	}
	prefix := t.TempDir()
	user := fmt.Sprintf("brdemo%06x", rand.IntN(1<<24))
	t.Cleanup(func() { account.DeleteUser(context.Background(), user, true, false) })
	pillar := map[string]any{
		"demo":   map[string]any{"prefix": prefix},
		"common": map[string]any{"admins": []any{"alice", "bob"}, "timezone": "UTC"},
		"web": map[string]any{
			"user": "www-data", "group": "www-data", "docroot": "/srv/www", "workers": 4,
			"sites": []any{
				map[string]any{"name": "www.example.com", "port": 80, "enabled": true, "locations": []any{"/", "/static"}},
				map[string]any{"name": "old.example.com", "port": 8081, "enabled": false},
			},
			"users": map[string]any{user: map[string]any{"shell": "/bin/bash", "groups": []any{"www-data", "no-such-group"}}},
		},
	}
	// A stale link the clean must remove.
	os.MkdirAll(filepath.Join(prefix, "etc/nginx/sites-enabled"), 0o755)
	os.Symlink("/nowhere", filepath.Join(prefix, "etc/nginx/sites-enabled/stale.conf"))
	deps := Deps(map[string][]string{"base": {root}}, nil, t.TempDir())
	apply := func(test bool) state.Results {
		t.Helper()
		e := state.New(nil, deps, state.Options{MinionID: "web1", Test: test, Pillar: pillar, Grains: map[string]any{"id": "web1"}})
		res, err := e.ApplyHighstate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := apply(true)
	for _, tag := range res.Tags() {
		if res[tag].Result == state.False {
			t.Fatalf("test run: %s: %s", tag, res[tag].Comment)
		}
	}
	if _, err := os.Stat(filepath.Join(prefix, "etc/motd")); !os.IsNotExist(err) {
		t.Fatal("test=True wrote files")
	}
	first := apply(false)
	for _, tag := range first.Tags() {
		if first[tag].Result != state.True {
			t.Errorf("first run: %s: %v %s", tag, first[tag].Result, first[tag].Comment)
		}
	}
	second := apply(false)
	for _, tag := range second.Tags() {
		if r := second[tag]; r.Result != state.True || len(r.Changes) > 0 {
			t.Errorf("second run: %s: %v %v %s", tag, r.Result, r.Changes, r.Comment)
		}
	}
	conf, _ := os.ReadFile(filepath.Join(prefix, "etc/nginx/nginx.conf"))
	site, _ := os.ReadFile(filepath.Join(prefix, "etc/nginx/sites-available/www.example.com.conf"))
	index, _ := os.ReadFile(filepath.Join(prefix, "srv/www/current/index.html"))
	motd, _ := os.ReadFile(filepath.Join(prefix, "etc/motd"))
	for what, c := range map[string][2]string{
		"nginx.conf": {string(conf), "worker_processes 4;"},
		"site":       {string(site), "location /static { try_files $uri =404; }"},
		"checkout":   {string(index), "Hello from Brine"},
		"motd":       {string(motd), "Admins: alice, bob"},
	} {
		if !strings.Contains(c[0], c[1]) {
			t.Errorf("%s: %q does not contain %q", what, c[0], c[1])
		}
	}
	if _, err := os.Lstat(filepath.Join(prefix, "etc/nginx/sites-enabled/stale.conf")); !os.IsNotExist(err) {
		t.Error("stale site link not cleaned")
	}
	if _, err := os.Lstat(filepath.Join(prefix, "etc/nginx/sites-enabled/old.example.com.conf")); !os.IsNotExist(err) {
		t.Error("disabled site linked")
	}
	if r := findID(first, "nginx-reload"); r == nil || len(r.Changes) == 0 {
		t.Error("nginx-reload should run on the first (changing) run")
	}
}

func findID(r state.Results, id string) *state.Result {
	for _, x := range r {
		if x.ID == id {
			return x
		}
	}
	return nil
}

type fakeCaller struct{}

func (fakeCaller) Call(_ context.Context, fun string, args []any, _ map[string]any) (any, error) {
	return fmt.Sprintf("%s(%v)", fun, args), nil
}

// TestSaltCallsInSLS: salt['...'] in an SLS reaches the run's caller.
func TestSaltCallsInSLS(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "s.sls"), []byte("n:\n  test.show_notification:\n    - text: \"{{ salt['cmd.run']('uptime') }}\"\n"), 0o644)
	deps := Deps(map[string][]string{"base": {root}}, nil, "")
	deps.Caller = fakeCaller{}
	res, err := state.New(nil, deps, state.Options{}).ApplySLS(context.Background(), "s")
	if err != nil {
		t.Fatal(err)
	}
	if r := findID(res, "n"); r == nil || r.Comment != "cmd.run([uptime])" {
		t.Fatalf("got %+v", r)
	}
}
