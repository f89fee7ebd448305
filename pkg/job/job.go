// Package job holds the payloads that travel inside the encrypted envelopes
// of pkg/proto between master and minions: the job a master publishes, the
// return a minion sends back, and the small requests a minion makes (pillar,
// files). They are JSON so that a return's value reaches the job store and
// the API unchanged.
package job

import (
	"encoding/json"
	"fmt"
	"time"
)

// Publish kinds and request kinds carried by proto envelopes.
const (
	KindJob    = "job"    // master → minions (publish)
	KindReturn = "return" // minion → master (request)
	KindGrains = "grains" // minion → master: its grains, after auth and on refresh
	KindPillar = "pillar" // minion → master: compile my pillar
	KindFile   = "file"   // minion → master: stat/read a salt:// file
)

// Job is what the master publishes. Minions match Tgt/TgtType themselves.
type Job struct {
	JID     string         `json:"jid"`
	Tgt     any            `json:"tgt"` // string, or a list for tgt_type list
	TgtType string         `json:"tgt_type"`
	Fun     string         `json:"fun"`
	Arg     []any          `json:"arg,omitempty"`
	Kwarg   map[string]any `json:"kwarg,omitempty"`
	User    string         `json:"user,omitempty"`
	Timeout float64        `json:"timeout,omitempty"` // seconds
	// Pillar overrides merged on top of the minion's compiled pillar for
	// this job only.
	Pillar map[string]any `json:"pillar,omitempty"`
}

// Return is one minion's answer to one job.
type Return struct {
	JID      string          `json:"jid"`
	ID       string          `json:"id"`
	Fun      string          `json:"fun"`
	Return   json.RawMessage `json:"return"`
	Retcode  int             `json:"retcode"`
	Success  bool            `json:"success"`
	Duration float64         `json:"duration"` // seconds
}

// Ack is the master's reply to a request that carried a return: the return
// is stored (or spooled) and the minion may forget it.
type Ack struct {
	JID string `json:"jid"`
}

// Grains is sent by a minion after it authenticates.
type Grains struct {
	Grains map[string]any `json:"grains"`
}

// PillarRequest asks the master to compile the sender's pillar.
type PillarRequest struct {
	Pillarenv string         `json:"pillarenv,omitempty"`
	Saltenv   string         `json:"saltenv,omitempty"`
	Overrides map[string]any `json:"overrides,omitempty"`
}

// FileRequest asks for a file's hash (Op "stat"), its content ("read", in
// chunks of at most FileChunk bytes from Offset), a listing ("list") or the
// environments ("envs") of the master's file server.
type FileRequest struct {
	Op      string `json:"op"`
	Saltenv string `json:"saltenv"`
	Path    string `json:"path"`
	Offset  int64  `json:"offset,omitempty"`
}

// FileChunk bounds the file content in one reply, well under the wire's
// message limit.
const FileChunk = 4 << 20

// FileReply answers a FileRequest.
type FileReply struct {
	Hash  string   `json:"hash,omitempty"`
	Size  int64    `json:"size,omitempty"`
	Mode  uint32   `json:"mode,omitempty"`
	Data  []byte   `json:"data,omitempty"`
	Files []string `json:"files,omitempty"`
	Error string   `json:"error,omitempty"`
}

// Decode unmarshals a payload of the given kind, naming the kind on error.
func Decode(kind string, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("job: decode %s: %w", kind, err)
	}
	return nil
}

// Since returns seconds elapsed from t, as Return.Duration wants.
func Since(t time.Time) float64 { return time.Since(t).Seconds() }
