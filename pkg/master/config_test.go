package master_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/config"
	"github.com/brine-project/brine/pkg/master"
	"github.com/brine-project/brine/pkg/minion"
)

// TestDaemonConfigs: the daemons' config files load strictly (every problem
// named by file:line and key) and take BRINE_<KEY> from the environment.
func TestDaemonConfigs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("master errors name file and line", func(t *testing.T) {
		p := write("bad-master.yaml", "id: m1\nauto_accept: maybe\npublsh_addr: x\ntimeout: 30\n")
		var cfg master.Config
		err := config.Load(p, &cfg)
		if !errors.Is(err, config.ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
		for _, want := range []string{p + ":2", "auto_accept", p + ":3", "publsh_addr", p + ":4", "timeout"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not mention %q:\n%v", want, err)
			}
		}
	})
	t.Run("deploy examples load", func(t *testing.T) {
		var mc master.Config
		if err := config.Load("../../deploy/master.yaml", &mc); err != nil {
			t.Fatal(err)
		}
		var nc minion.Config
		if err := config.Load("../../deploy/minion.yaml", &nc); err != nil {
			t.Fatal(err)
		}
		if mc.KeepJobs != 90*24*time.Hour || len(mc.APITokens) != 2 || len(nc.Master) != 2 {
			t.Fatalf("master %+v minion %+v", mc, nc)
		}
	})
	t.Run("minion: one master or a list, env overlay", func(t *testing.T) {
		p := write("minion.yaml", "id: web1\nmaster: 10.0.0.1:4506\nacceptance_wait_time: 2s\ngrains: {role: web}\n")
		t.Setenv("BRINE_LOG_LEVEL", "debug")
		t.Setenv("BRINE_MAX_JOBS", "7")
		var cfg minion.Config
		if err := config.Load(p, &cfg); err != nil {
			t.Fatal(err)
		}
		cfg.Defaults()
		if len(cfg.Master) != 1 || cfg.Master[0] != "10.0.0.1:4506" || cfg.AcceptanceWaitTime != 2*time.Second ||
			cfg.LogLevel != "debug" || cfg.MaxJobs != 7 || cfg.Grains["role"] != "web" || cfg.PKIDir == "" {
			t.Fatalf("cfg = %+v", cfg)
		}
		t.Setenv("BRINE_MASTER", "a:4506,b:4506")
		if err := config.Load(p, &cfg); err != nil || len(cfg.Master) != 2 {
			t.Fatalf("list from env: %v %v", cfg.Master, err)
		}
	})
}
