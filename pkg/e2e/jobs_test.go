package e2e_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/api/types"
)

// TestJobControl: saltutil.running, find_job and kill_job against a real
// minion, and brinectl's JSON output read by a stock JSON parser.
func TestJobControl(t *testing.T) {
	c := newCluster(t, "", "auto_accept: true\n", "")
	c.startMinion("web1", "web")
	c.waitConnected("web1")

	t.Run("json output parses with python3 -m json.tool", func(t *testing.T) {
		stdout := mustRun(t, c, "run", "*", "test.ping", "--out", "json")
		py := exec.Command("python3", "-m", "json.tool")
		py.Stdin = strings.NewReader(stdout)
		if out, err := py.CombinedOutput(); err != nil {
			t.Fatalf("json.tool: %v\n%s", err, out)
		}
	})

	t.Run("running, find_job, kill_job", func(t *testing.T) {
		sleeper := strings.TrimSpace(mustRun(t, c, "run", "--async", "--out", "raw", "--timeout", "120", "web1", "test.sleep", "60"))
		c.eventually("the sleeper shows in saltutil.running", 10*time.Second, func() error {
			out := parseRun(t, mustRun(t, c, "run", "--out", "json", "web1", "saltutil.running"))
			if !strings.Contains(fmt.Sprint(out.Returns["web1"].Return), sleeper) {
				return fmt.Errorf("running: %v", out.Returns["web1"].Return)
			}
			return nil
		})
		found := parseRun(t, mustRun(t, c, "run", "--out", "json", "web1", "saltutil.find_job", sleeper))
		if !strings.Contains(fmt.Sprint(found.Returns["web1"].Return), "test.sleep") {
			t.Fatalf("find_job: %v", found.Returns["web1"].Return)
		}
		mustRun(t, c, "run", "web1", "saltutil.kill_job", sleeper)
		// The killed job returns at once, long before its 60 s.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		d, err := c.cl.WaitJob(ctx, sleeper, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != types.JobComplete || len(d.Returns) != 1 || d.Returns["web1"].Success {
			t.Fatalf("killed job: %+v", d)
		}
	})

}
