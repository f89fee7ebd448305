// Package types holds the JSON request and response bodies of Brine's HTTP
// API (/api/v1). The server (pkg/api) and the Go client (pkg/api/client)
// share them, so this package imports nothing else of Brine's: whatever
// compiles against it speaks the wire format.
//
// Field names on the wire are snake_case; times are RFC 3339 in UTC;
// durations and timeouts are float seconds, as in Salt.
package types

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Target types, as Salt names them (tgt_type).
const (
	TgtGlob       = "glob"
	TgtPCRE       = "pcre"
	TgtList       = "list"
	TgtGrain      = "grain"
	TgtGrainPCRE  = "grain_pcre"
	TgtPillar     = "pillar"
	TgtPillarPCRE = "pillar_pcre"
	TgtIPCIDR     = "ipcidr"
	TgtCompound   = "compound"
	TgtNodegroup  = "nodegroup"
)

// TgtTypes lists every target type the API accepts.
var TgtTypes = []string{TgtGlob, TgtPCRE, TgtList, TgtGrain, TgtGrainPCRE, TgtPillar, TgtPillarPCRE, TgtIPCIDR, TgtCompound, TgtNodegroup}

// FieldError is a request field that is missing or invalid. The server
// answers it with 400 and the field's name.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Msg) }

// JobRequest is the body of POST /api/v1/jobs.
type JobRequest struct {
	Tgt     string         `json:"tgt"`
	TgtType string         `json:"tgt_type,omitempty"` // default glob
	Fun     string         `json:"fun"`
	Arg     []any          `json:"arg,omitempty"`
	Kwarg   map[string]any `json:"kwarg,omitempty"`
	// Timeout is how long, in seconds, the master waits for the expected
	// minions before recording the missing ones as no return. 0 means the
	// master's default.
	Timeout float64 `json:"timeout,omitempty"`
	// Wait makes POST /jobs answer once the job is complete instead of at
	// once (202) with the expected minions.
	Wait bool `json:"wait,omitempty"`
	// Pillar is merged over each minion's pillar for this job only.
	Pillar map[string]any `json:"pillar,omitempty"`
}

// Normalize fills defaults (tgt_type glob) and validates the request,
// returning a *FieldError naming the first bad field.
func (r *JobRequest) Normalize() error {
	r.Tgt = strings.TrimSpace(r.Tgt)
	r.Fun = strings.TrimSpace(r.Fun)
	if r.TgtType == "" {
		r.TgtType = TgtGlob
	}
	switch {
	case r.Tgt == "":
		return &FieldError{"tgt", "required"}
	case !slices.Contains(TgtTypes, r.TgtType):
		return &FieldError{"tgt_type", fmt.Sprintf("unknown target type %q (want one of %s)", r.TgtType, strings.Join(TgtTypes, ", "))}
	case r.Fun == "":
		return &FieldError{"fun", "required"}
	case strings.ContainsAny(r.Fun, " \t\n/") || !strings.Contains(r.Fun, "."):
		return &FieldError{"fun", fmt.Sprintf("%q is not a dotted function name like test.ping", r.Fun)}
	case r.Timeout < 0:
		return &FieldError{"timeout", "must not be negative"}
	}
	return nil
}

// JobStatus is the state of a job.
type JobStatus string

// Job statuses. A job is complete once every expected minion answered or its
// timeout passed.
const (
	JobRunning  JobStatus = "running"
	JobComplete JobStatus = "complete"
)

// MinionReturn is one minion's answer to a job.
type MinionReturn struct {
	Return   any     `json:"return"`
	Retcode  int     `json:"retcode"`
	Success  bool    `json:"success"`
	Duration float64 `json:"duration"` // seconds the minion spent running it
}

// No-return reasons.
const (
	NoReturnNotConnected = "not_connected" // the minion was not connected when the job was published or timed out
	NoReturnNoResponse   = "no_response"   // connected, but silent until the timeout
)

// NoReturnEntry names an expected minion that did not answer in time.
type NoReturnEntry struct {
	Minion string `json:"minion"`
	Reason string `json:"reason"`
}

// JobDetail is a job with its returns: the answer of POST /jobs and
// GET /jobs/{jid}.
type JobDetail struct {
	JID      string                  `json:"jid"`
	Fun      string                  `json:"fun"`
	Arg      []any                   `json:"arg"`
	Kwarg    map[string]any          `json:"kwarg,omitempty"`
	Tgt      string                  `json:"tgt"`
	TgtType  string                  `json:"tgt_type"`
	User     string                  `json:"user"`
	Created  time.Time               `json:"created"`
	Timeout  float64                 `json:"timeout"`
	Status   JobStatus               `json:"status"`
	Expected []string                `json:"expected"`
	Returns  map[string]MinionReturn `json:"returns"`
	NoReturn []NoReturnEntry         `json:"no_return"`
}

// JobResponse is the answer of POST /jobs: the job as stored, with returns
// when the request asked to wait.
type JobResponse = JobDetail

// Succeeded reports whether the job is complete and every expected minion
// returned success: brinectl's exit status 0.
func (j *JobDetail) Succeeded() bool {
	if j.Status != JobComplete || len(j.NoReturn) > 0 {
		return false
	}
	for _, m := range j.Expected {
		r, ok := j.Returns[m]
		if !ok || !r.Success {
			return false
		}
	}
	return true
}

// JobSummary is one line of GET /jobs.
type JobSummary struct {
	JID       string    `json:"jid"`
	Fun       string    `json:"fun"`
	Tgt       string    `json:"tgt"`
	TgtType   string    `json:"tgt_type"`
	User      string    `json:"user"`
	Created   time.Time `json:"created"`
	Status    JobStatus `json:"status"`
	Expected  int       `json:"expected"`  // number of expected minions
	Returned  int       `json:"returned"`  // number that answered
	Succeeded int       `json:"succeeded"` // number that answered with success
	NoReturn  int       `json:"no_return"` // number recorded as no return
}

// JobList is a page of GET /jobs, newest first. Next, when not empty, is the
// cursor of the following page.
type JobList struct {
	Jobs []JobSummary `json:"jobs"`
	Next string       `json:"next,omitempty"`
}

// Minion is what the master knows of a minion (GET /minions/{id}).
type Minion struct {
	ID        string         `json:"id"`
	Grains    map[string]any `json:"grains,omitempty"`
	LastSeen  time.Time      `json:"last_seen"`
	Connected bool           `json:"connected"`
	KeyState  string         `json:"key_state"`
}

// MinionList is the answer of GET /minions, sorted by id.
type MinionList struct {
	Minions []Minion `json:"minions"`
}

// Key states.
const (
	KeyPending  = "pending"
	KeyAccepted = "accepted"
	KeyRejected = "rejected"
	KeyDenied   = "denied"
	KeyMaster   = "master" // the state shown for the master's own key
)

// Key is a minion's public key as the master holds it.
type Key struct {
	ID          string `json:"id"`
	State       string `json:"state"`
	Fingerprint string `json:"fingerprint"`
}

// KeyList is the answer of GET /keys and of the bulk key actions, sorted by id.
type KeyList struct {
	Keys []Key `json:"keys"`
}

// Event is one event of GET /events (server-sent events) and of the bus.
type Event struct {
	Tag  string          `json:"tag"`
	Data json.RawMessage `json:"data"`
	Time time.Time       `json:"time"`
}

// HookResponse is the answer of POST /hooks/{path}: the tag of the event
// that was fired.
type HookResponse struct {
	Tag string `json:"tag"`
}

// Health statuses.
const (
	HealthOK       = "ok"
	HealthDegraded = "degraded"
)

// Health is the answer of GET /health. The server answers 503 when Status is
// not ok.
type Health struct {
	Status string `json:"status"`
	// Store describes the job store's state ("ok", or the error).
	Store string `json:"store"`
	// MinionsConnected counts minions with a live session.
	MinionsConnected int `json:"minions_connected"`
	// Version is the master's version.
	Version string `json:"version,omitempty"`
	// Details carries anything else the master wants to report.
	Details map[string]any `json:"details,omitempty"`
}

// Error is the body of every non-2xx answer.
type Error struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	// Field names the offending request field of a 400, when there is one.
	Field string `json:"field,omitempty"`
}

// Error codes.
const (
	CodeBadRequest       = "bad_request"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeConflict         = "conflict"
	CodeNoMatch          = "no_match"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
)
