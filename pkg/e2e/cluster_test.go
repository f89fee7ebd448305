package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/api/client"
	"github.com/brine-project/brine/pkg/api/types"
)

// bin holds the daemons and brinectl, built once by TestMain.
var bin string

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// cluster is a real master process and real minion processes, each with
// its own data directory, on loopback.
type cluster struct {
	t          *testing.T
	dir        string
	masterYAML string
	reqAddr    string
	api        string
	token      string
	// presetToken is an admin token from api_tokens; empty means the
	// master writes admin.token.
	presetToken string
	master      *exec.Cmd
	minions     map[string]*exec.Cmd
	cl          *client.Client
}

func newCluster(t *testing.T, database, extraMaster, adminToken string) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{t: t, dir: dir, minions: map[string]*exec.Cmd{}, presetToken: adminToken}
	c.reqAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	c.api = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	c.masterYAML = filepath.Join(dir, "master.yaml")
	cfg := fmt.Sprintf("id: e2e-master\npublish_addr: 127.0.0.1:%d\nrequest_addr: %s\napi_addr: %s\ndata_dir: %s\nlog_level: debug\n",
		freePort(t), c.reqAddr, c.api, filepath.Join(dir, "master"))
	if database != "" {
		cfg += "database: " + database + "\n"
	}
	cfg += extraMaster
	if err := os.WriteFile(c.masterYAML, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c.startMaster()
	t.Cleanup(c.stopAll)
	return c
}

func (c *cluster) logFile(name string) *os.File {
	f, err := os.OpenFile(filepath.Join(c.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	return f
}

func (c *cluster) startMaster() {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(bin, "brine-master"), "-c", c.masterYAML)
	cmd.Stdout, cmd.Stderr = c.logFile("master"), c.logFile("master")
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.master = cmd
	tokenFile := filepath.Join(c.dir, "master", "admin.token")
	c.eventually("master API up", 20*time.Second, func() error {
		if c.presetToken == "" {
			b, err := os.ReadFile(tokenFile)
			if err != nil {
				return err
			}
			c.token = strings.TrimSpace(string(b))
		} else {
			c.token = c.presetToken
		}
		c.cl = client.New("http://"+c.api, c.token, nil)
		_, err := c.cl.MasterKey(context.Background())
		return err
	})
}

// stopMaster sends SIGTERM and requires a graceful exit within 5 s.
func (c *cluster) stopMaster() {
	c.t.Helper()
	if err := c.master.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.master.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			c.t.Fatalf("master exit after SIGTERM: %v", err)
		}
	case <-time.After(5 * time.Second):
		c.master.Process.Kill()
		c.t.Fatal("master did not stop within 5s of SIGTERM")
	}
}

func (c *cluster) startMinion(id, role string) {
	c.t.Helper()
	path := filepath.Join(c.dir, id+".yaml")
	cfg := fmt.Sprintf("id: %s\nmaster: %s\ndata_dir: %s\nacceptance_wait_time: 200ms\nreconnect_max: 1s\nlog_level: debug\ngrains:\n  role: %s\n",
		id, c.reqAddr, filepath.Join(c.dir, id), role)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "brine-minion"), "-c", path)
	cmd.Stdout, cmd.Stderr = c.logFile(id), c.logFile(id)
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.minions[id] = cmd
}

func (c *cluster) stopAll() {
	for _, m := range c.minions {
		m.Process.Signal(syscall.SIGCONT)
		m.Process.Kill()
		m.Wait()
	}
	if c.master != nil && c.master.ProcessState == nil {
		c.master.Process.Kill()
		c.master.Wait()
	}
	if c.t.Failed() {
		for _, n := range append([]string{"master"}, keysOf(c.minions)...) {
			b, _ := os.ReadFile(filepath.Join(c.dir, n+".log"))
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			c.t.Logf("---- %s.log (tail)\n%s", n, b)
		}
	}
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// eventually polls cond until it holds or the deadline passes.
func (c *cluster) eventually(what string, within time.Duration, cond func() error) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("%s: not within %s: %v", what, within, err)
}

func (c *cluster) waitConnected(ids ...string) {
	c.t.Helper()
	c.eventually("minions connected "+strings.Join(ids, ","), 20*time.Second, func() error {
		for _, id := range ids {
			m, err := c.cl.Minion(context.Background(), id)
			if err != nil {
				return err
			}
			if !m.Connected {
				return fmt.Errorf("%s not connected", id)
			}
			if m.Grains == nil {
				return fmt.Errorf("%s has no grains yet", id)
			}
		}
		return nil
	})
}

// ctl runs brinectl against the cluster with the admin token unless the
// caller gives --token.
func (c *cluster) ctl(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(bin, "brinectl"), args...)
	cmd.Env = append(os.Environ(), "BRINE_API=http://"+c.api, "BRINE_TOKEN="+c.token)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		c.t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func (c *cluster) job(jid string) *types.JobDetail {
	c.t.Helper()
	d, err := c.cl.Job(context.Background(), jid)
	if err != nil {
		c.t.Fatal(err)
	}
	return d
}
