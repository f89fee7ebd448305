package minion

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Config is the minion's configuration file (minion.yaml). Every key can
// also be set as BRINE_<KEY> in the environment.
type Config struct {
	ID string `yaml:"id"`
	// Master is the master's request port, host:port, or several for
	// failover (tried in turn).
	Master       []string       `yaml:"master"`
	PKIDir       string         `yaml:"pki_dir"`
	DataDir      string         `yaml:"data_dir"`
	MasterFinger string         `yaml:"master_finger"`
	Grains       map[string]any `yaml:"grains"`
	LogLevel     string         `yaml:"log_level"`

	// AcceptanceWaitTime is how long to wait before asking again while the
	// master holds our key pending.
	AcceptanceWaitTime time.Duration `yaml:"acceptance_wait_time"`
	// MaxJobs bounds the jobs running at once.
	MaxJobs int `yaml:"max_jobs"`
	// ReconnectMin and ReconnectMax bound the jittered reconnect backoff.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// PublishWindow is how old (or early) a publish may be and still run.
	PublishWindow time.Duration `yaml:"publish_window"`

	// Masterless (--local) settings, as salt-call --local uses them.
	FileRoots   map[string][]string `yaml:"file_roots"`
	PillarRoots map[string][]string `yaml:"pillar_roots"`
}

// Defaults fills what the file left empty.
func (c *Config) Defaults() {
	if c.ID == "" {
		c.ID, _ = os.Hostname()
	}
	if len(c.Master) == 0 {
		c.Master = []string{"127.0.0.1:4506"}
	}
	if c.DataDir == "" {
		c.DataDir = "/var/lib/brine/minion"
	}
	if c.PKIDir == "" {
		c.PKIDir = filepath.Join(c.DataDir, "pki")
	}
	if c.AcceptanceWaitTime == 0 {
		c.AcceptanceWaitTime = 10 * time.Second
	}
	if c.MaxJobs == 0 {
		c.MaxJobs = 32
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = 500 * time.Millisecond
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = 10 * time.Second
	}
	if c.FileRoots == nil {
		c.FileRoots = map[string][]string{"base": {"/srv/salt"}}
	}
	if c.PillarRoots == nil {
		c.PillarRoots = map[string][]string{"base": {"/srv/pillar"}}
	}
}

// Validate reports values that parse but cannot work.
func (c *Config) Validate() error {
	if c.MaxJobs < 0 {
		return fmt.Errorf("minion: max_jobs must not be negative")
	}
	return nil
}
