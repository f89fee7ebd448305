// Package e2e_test runs Brine as operators do: a real master process, real
// minion processes and brinectl, over real sockets, once on the embedded job
// store and once on PostgreSQL.
package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/api"
	"github.com/brine-project/brine/pkg/api/client"
	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/pgtest"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "brine-e2e-bin-")
	if err != nil {
		panic(err)
	}
	for name, pkg := range map[string]string{"brine-master": "./cmd/master", "brine-minion": "./cmd/minion", "brinectl": "./cmd/ctl"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		cmd.Dir = "../.."
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: build", name, err)
			os.Exit(2)
		}
	}
	bin = dir
	pgtest.Main(m, func() { os.RemoveAll(dir) })
}

// runOut is brinectl's --out json document for run.
type runOut struct {
	JID     string `json:"jid"`
	Returns map[string]struct {
		Return  any  `json:"return"`
		Retcode int  `json:"retcode"`
		Success bool `json:"success"`
	} `json:"returns"`
	NoReturn []struct {
		Minion string `json:"minion"`
		Reason string `json:"reason"`
	} `json:"no_return"`
}

func parseRun(t *testing.T, stdout string) runOut {
	t.Helper()
	var out runOut
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("brinectl --out json is not one JSON document: %v\n%s", err, stdout)
	}
	return out
}

func returned(o runOut) []string {
	ids := keysOf(o.Returns)
	sort.Strings(ids)
	return ids
}

func TestRemoteExecution(t *testing.T) {
	stores := []struct{ name, url string }{
		{"embedded", ""},
		{"postgres", pgtest.SchemaURL(t)},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			remoteExecution(t, st.url)
			if st.url != "" {
				rowsVisibleWithPsql(t, st.url)
			}
		})
	}
}

const deployerToken = "deployer-secret-token"

func remoteExecution(t *testing.T, database string) {
	extra := "nodegroups:\n  webs: 'G@role:web'\n  all_but_db: 'not L@db1'\n" +
		"api_tokens:\n" +
		"  - {name: admin, token_hash: '" + api.HashToken("admin-secret-token") + "', admin: true}\n" +
		"  - name: deployer\n    token_hash: '" + api.HashToken(deployerToken) + "'\n" +
		"    permissions:\n      - {target: 'web*', functions: ['test\\..*']}\n"
	c := newCluster(t, database, extra, "admin-secret-token")
	for _, m := range []struct{ id, role string }{{"web1", "web"}, {"web2", "web"}, {"db1", "db"}} {
		c.startMinion(m.id, m.role)
	}

	// Keys arrive pending; brinectl accepts them.
	c.eventually("three pending keys", 20*time.Second, func() error {
		ks, err := c.cl.Keys(context.Background(), "pending")
		if err != nil || len(ks) != 3 {
			return fmt.Errorf("pending keys %v, %v", ks, err)
		}
		return nil
	})
	for _, id := range []string{"web1", "web2", "db1"} {
		if _, stderr, code := c.ctl("key", "accept", id); code != 0 {
			t.Fatalf("key accept %s: exit %d: %s", id, code, stderr)
		}
	}
	c.waitConnected("web1", "web2", "db1")

	t.Run("targets", func(t *testing.T) {
		all := []string{"db1", "web1", "web2"}
		for _, tc := range []struct {
			name string
			args []string
			want []string
		}{
			{"glob", []string{"web*"}, []string{"web1", "web2"}},
			{"pcre", []string{"-E", "^(web1|db.*)$"}, []string{"db1", "web1"}},
			{"list", []string{"-L", "web2,db1"}, []string{"db1", "web2"}},
			{"grain", []string{"-G", "role:db"}, []string{"db1"}},
			{"grain glob", []string{"-G", "role:w*"}, []string{"web1", "web2"}},
			{"grain_pcre", []string{"-P", "role:^d.$"}, []string{"db1"}},
			{"ipcidr", []string{"-S", "127.0.0.0/8"}, all},
			{"compound", []string{"-C", "web* and G@role:web or E@^db1$"}, all},
			{"compound not", []string{"-C", "not web1 and ( G@role:web or L@db1 )"}, []string{"db1", "web2"}},
			{"nodegroup", []string{"-N", "webs"}, []string{"web1", "web2"}},
			{"compound nodegroup", []string{"-C", "N@all_but_db and not web2"}, []string{"web1"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				args := append(append([]string{"run", "--out", "json"}, tc.args...), "test.ping")
				stdout, stderr, code := c.ctl(args...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				out := parseRun(t, stdout)
				if got := returned(out); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("returned %v, want %v", got, tc.want)
				}
				for id, r := range out.Returns {
					if r.Return != true || !r.Success {
						t.Errorf("%s: %+v", id, r)
					}
				}
			})
		}
	})

	t.Run("no match is an error", func(t *testing.T) {
		_, stderr, code := c.ctl("run", "nosuch*", "test.ping")
		if code != 2 || !strings.Contains(stderr, "nosuch*") {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
	})

	t.Run("failing command", func(t *testing.T) {
		stdout, _, code := c.ctl("run", "--out", "json", "web1", "cmd.run", "echo oops; exit 3")
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		r := parseRun(t, stdout).Returns["web1"]
		if r.Success || r.Retcode != 3 || r.Return != "oops" {
			t.Fatalf("return %+v", r)
		}
	})

	t.Run("bad argument fails before running", func(t *testing.T) {
		stdout, _, code := c.ctl("run", "--out", "json", "web1", "cmd.run", "true", "nosucharg=1")
		r := parseRun(t, stdout).Returns["web1"]
		if code != 1 || r.Success || !strings.Contains(fmt.Sprint(r.Return), "nosucharg") {
			t.Fatalf("exit %d, return %+v", code, r)
		}
	})

	t.Run("token limited to test.* on web*", func(t *testing.T) {
		run := func(args ...string) (string, int) {
			_, stderr, code := c.ctl(append([]string{"--token", deployerToken}, args...)...)
			return stderr, code
		}
		if stderr, code := run("run", "web*", "test.ping"); code != 0 {
			t.Fatalf("allowed job refused: %d %s", code, stderr)
		}
		for _, args := range [][]string{
			{"run", "web*", "cmd.run", "id"},
			{"run", "*", "test.ping"},
			{"run", "-G", "role:db", "test.ping"},
			{"key", "accept", "--all"},
		} {
			stderr, code := run(args...)
			if code != 2 || !strings.Contains(strings.ToLower(stderr), "forbidden") && !strings.Contains(stderr, "403") {
				t.Errorf("%v: exit %d, stderr %q: want a 403 refusal", args, code, stderr)
			}
		}
	})

	t.Run("master restart while a job runs", func(t *testing.T) {
		stdout, stderr, code := c.ctl("run", "--async", "--out", "raw", "--timeout", "60", "*", "test.sleep", "2")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		jid := strings.TrimSpace(stdout)
		c.stopMaster()
		c.startMaster()
		c.cl = client.New("http://"+c.api, c.token, nil)
		stdout, stderr, code = c.ctl("job", "wait", "--out", "json", jid)
		if code != 0 {
			t.Fatalf("job wait: exit %d: %s\n%s", code, stderr, stdout)
		}
		d := c.job(jid)
		if len(d.Returns) != 3 || len(d.NoReturn) != 0 || d.Status != types.JobComplete {
			t.Fatalf("after restart: %d returns, no_return %v, status %s", len(d.Returns), d.NoReturn, d.Status)
		}
		c.waitConnected("web1", "web2", "db1")
	})

	t.Run("stopped minion", func(t *testing.T) {
		// Stopped but connected: no_response; the others' returns intact.
		db := c.minions["db1"]
		if err := db.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		stdout, _, code := c.ctl("run", "--out", "json", "--timeout", "2", "*", "test.ping")
		db.Process.Signal(syscall.SIGCONT)
		out := parseRun(t, stdout)
		if code != 1 || !reflect.DeepEqual(returned(out), []string{"web1", "web2"}) ||
			len(out.NoReturn) != 1 || out.NoReturn[0].Minion != "db1" || out.NoReturn[0].Reason != "no_response" {
			t.Fatalf("exit %d, out %+v", code, out)
		}
		// Gone: not_connected.
		db.Process.Kill()
		db.Wait()
		delete(c.minions, "db1")
		c.eventually("db1 disconnected", 20*time.Second, func() error {
			m, err := c.cl.Minion(context.Background(), "db1")
			if err != nil || m.Connected {
				return fmt.Errorf("db1 still connected (%v)", err)
			}
			return nil
		})
		// A publish cannot reach a minion that is not connected: the job
		// does not wait its (long) timeout for it.
		jid := strings.TrimSpace(mustRun(t, c, "run", "--async", "--out", "raw", "--timeout", "3600", "*", "test.ping"))
		c.eventually("job complete without waiting for the gone minion", 20*time.Second, func() error {
			if d := c.job(jid); d.Status != types.JobComplete {
				return fmt.Errorf("status %s", d.Status)
			}
			return nil
		})
		d := c.job(jid)
		if len(d.NoReturn) != 1 || d.NoReturn[0].Minion != "db1" || d.NoReturn[0].Reason != "not_connected" || len(d.Returns) != 2 {
			t.Fatalf("job %+v", d)
		}
	})

	t.Run("rejected minion reads nothing", func(t *testing.T) {
		if _, stderr, code := c.ctl("key", "reject", "web2"); code != 0 {
			t.Fatalf("reject: %s", stderr)
		}
		stdout, stderr, code := c.ctl("run", "--out", "json", "--timeout", "3", "web*", "test.ping")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if got := returned(parseRun(t, stdout)); !reflect.DeepEqual(got, []string{"web1"}) {
			t.Fatalf("returned %v", got)
		}
		// The broadcast reached web2's socket, but it could not open it.
		c.eventually("web2 dropped the job", 10*time.Second, func() error {
			b, _ := os.ReadFile(filepath.Join(c.dir, "web2.log"))
			if !strings.Contains(string(b), "publish dropped") {
				return fmt.Errorf("no drop logged")
			}
			return nil
		})
	})

	t.Run("job history", func(t *testing.T) {
		stdout, stderr, code := c.ctl("job", "list", "--out", "json", "--fun", "cmd.run")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var l types.JobList
		if err := json.Unmarshal([]byte(stdout), &l); err != nil || len(l.Jobs) == 0 {
			t.Fatalf("job list: %v %s", err, stdout)
		}
		for _, j := range l.Jobs {
			if j.Fun != "cmd.run" {
				t.Errorf("filter fun=cmd.run returned %s", j.Fun)
			}
		}
	})
}

// rowsVisibleWithPsql reads the documented tables (docs/operations.md) the
// way an operator would, with psql.
func rowsVisibleWithPsql(t *testing.T, dbURL string) {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	schema := q.Get("search_path")
	q.Del("search_path") // a pgx parameter; libpq takes it in PGOPTIONS
	u.RawQuery = q.Encode()
	for table, min := range map[string]int{"jobs": 10, "job_expected": 10, "returns": 10, "events": 1, "minions": 3} {
		cmd := exec.Command("psql", u.String(), "-XAtc", "SELECT count(*) FROM "+table)
		cmd.Env = append(os.Environ(), "PGOPTIONS=-csearch_path="+schema)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("psql %s: %v\n%s", table, err, out)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil || n < min {
			t.Errorf("psql: %s holds %q rows, want at least %d", table, out, min)
		}
	}
}
