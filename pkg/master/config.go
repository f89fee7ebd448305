package master

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/brine-project/brine/pkg/api"
)

// Config is the master's configuration file (master.yaml). Every key can
// also be set as BRINE_<KEY> in the environment.
type Config struct {
	ID          string `yaml:"id"`
	PublishAddr string `yaml:"publish_addr"`
	RequestAddr string `yaml:"request_addr"`
	APIAddr     string `yaml:"api_addr"`
	PKIDir      string `yaml:"pki_dir"`
	DataDir     string `yaml:"data_dir"`
	AutoAccept  bool   `yaml:"auto_accept"`
	LogLevel    string `yaml:"log_level"`

	// Database selects the job store: empty for the embedded one in
	// data_dir, or a postgres:// URL.
	Database string `yaml:"database"`
	// KeepJobs is how long job history is kept ("90d"); 0 keeps it forever.
	KeepJobs Duration `yaml:"keep_jobs"`
	// Timeout is the default job timeout when a request gives none.
	Timeout Duration `yaml:"timeout"`
	// RotateInterval makes a new publish session key this often (0: only
	// when a key is rejected or deleted).
	RotateInterval Duration `yaml:"rotate_interval"`
	// SendQueue and WriteTimeout bound what one slow minion can hold up.
	SendQueue    int      `yaml:"send_queue"`
	WriteTimeout Duration `yaml:"write_timeout"`

	Nodegroups  map[string]string   `yaml:"nodegroups"`
	FileRoots   map[string][]string `yaml:"file_roots"`
	PillarRoots map[string][]string `yaml:"pillar_roots"`
	GitFS       []string            `yaml:"gitfs_remotes"`
	// GitFSUpdateInterval is how often gitfs remotes are fetched.
	GitFSUpdateInterval Duration    `yaml:"gitfs_update_interval"`
	APITokens           []api.Token `yaml:"api_tokens"`
}

// Duration is a time.Duration written as "30s", "5m" or "90d" in YAML.
type Duration = time.Duration

// Defaults fills what the file left empty.
func (c *Config) Defaults() {
	if c.ID == "" {
		h, _ := os.Hostname()
		c.ID = h + "_master"
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.PublishAddr, "0.0.0.0:4505")
	def(&c.RequestAddr, "0.0.0.0:4506")
	def(&c.APIAddr, "127.0.0.1:8000")
	def(&c.DataDir, "/var/lib/brine/master")
	def(&c.PKIDir, filepath.Join(c.DataDir, "pki"))
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.SendQueue == 0 {
		c.SendQueue = 1024
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 5 * time.Second
	}
	if c.GitFSUpdateInterval == 0 {
		c.GitFSUpdateInterval = time.Minute
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
	if c.Timeout < 0 || c.KeepJobs < 0 {
		return fmt.Errorf("master: timeout and keep_jobs must not be negative")
	}
	return nil
}
