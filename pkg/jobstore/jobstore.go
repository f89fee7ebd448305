// Package jobstore keeps Brine's job history: jobs with their expected
// minions, the returns and "no return" records of every job, the master's
// events and the minion cache.
//
// It promises:
//   - one Store interface with two implementations that pass the same
//     conformance suite (package storetest): the embedded SQLite store
//     (package sqlite) and the production PostgreSQL store (package postgres);
//   - a return is stored at most once per (jid, minion): duplicates are
//     ignored, not errors, so a minion that resends after a master restart is
//     harmless;
//   - returns and events reach the store through one batching Writer that
//     never loses what it accepted: while the store is unreachable, batches go
//     to a bounded, fsync'd on-disk spool and are replayed in order when the
//     store is back;
//   - retention (keep_jobs) is Prune: a job older than the retention period
//     disappears with its returns.
//
// JIDs are treated as opaque strings whose byte order is their time order
// (the master generates them as a UTC timestamp YYYYMMDDhhmmssffffff followed
// by a master-unique suffix); listing pages by JID descending. The PostgreSQL
// store additionally uses the leading YYYYMMDD of a JID to pick the daily
// partition of its returns.
package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Job statuses.
const (
	StatusRunning  = "running"
	StatusComplete = "complete"
)

// Reasons recorded for minions that did not return.
const (
	// ReasonNotConnected: the minion was expected but not connected when the job ran.
	ReasonNotConnected = "not_connected"
	// ReasonNoResponse: the minion was connected but did not answer before the timeout.
	ReasonNoResponse = "no_response"
)

// Errors. Implementations wrap them, so compare with errors.Is.
var (
	// ErrNotFound: the job or minion does not exist (or was pruned).
	ErrNotFound = errors.New("jobstore: not found")
	// ErrExists: CreateJob was given a JID that is already stored.
	ErrExists = errors.New("jobstore: already exists")
	// ErrInvalid: the argument cannot be stored (empty JID, invalid JSON, bad cursor, ...).
	ErrInvalid = errors.New("jobstore: invalid argument")
	// ErrClosed: the store or writer was closed.
	ErrClosed = errors.New("jobstore: closed")
	// ErrQueueFull: the Writer's in-memory queue is full; the caller should not
	// acknowledge the return (the minion keeps it and resends).
	ErrQueueFull = errors.New("jobstore: writer queue full")
	// ErrSpoolFull: the store is unreachable and the on-disk spool reached its bound.
	ErrSpoolFull = errors.New("jobstore: spool full")
)

// Job is one published job. Expected lists the minions the target resolved
// to when it was submitted. Finished is set when the job completed.
type Job struct {
	JID      string         `json:"jid"`
	Fun      string         `json:"fun"`
	Arg      []any          `json:"arg"`
	Kwarg    map[string]any `json:"kwarg"`
	Tgt      string         `json:"tgt"`
	TgtType  string         `json:"tgt_type"`
	User     string         `json:"user"`
	Master   string         `json:"master"`
	Created  time.Time      `json:"created"`
	Timeout  time.Duration  `json:"-"` // JSON: "timeout" in float seconds (see MarshalJSON)
	Status   string         `json:"status"`
	Expected []string       `json:"expected,omitempty"`
	Finished *time.Time     `json:"finished,omitempty"`
}

// Return is one minion's answer to one job. Return holds the function's
// result as JSON (null when empty).
type Return struct {
	JID      string          `json:"jid"`
	Minion   string          `json:"minion"`
	Success  bool            `json:"success"`
	Retcode  int             `json:"retcode"`
	Return   json.RawMessage `json:"return"`
	Duration time.Duration   `json:"-"` // JSON: "duration" in float seconds (see MarshalJSON)
	Received time.Time       `json:"received"`
}

// NoReturn records an expected minion that did not answer a job.
type NoReturn struct {
	Minion string `json:"minion"`
	Reason string `json:"reason"` // ReasonNotConnected or ReasonNoResponse
}

// JobDetail is a job with everything recorded about it.
type JobDetail struct {
	Job
	Returns  []Return   `json:"returns"`
	NoReturn []NoReturn `json:"no_return"`
}

// Event is one event of the master's event bus. ID is assigned by the store
// (increasing within one store); Data is JSON.
type Event struct {
	ID     int64           `json:"id"`
	Tag    string          `json:"tag"`
	Data   json.RawMessage `json:"data"`
	Time   time.Time       `json:"time"`
	Master string          `json:"master"`
}

// Minion is the master's cached view of one minion.
type Minion struct {
	ID        string         `json:"id"`
	Grains    map[string]any `json:"grains"`
	LastSeen  time.Time      `json:"last_seen"`
	Connected bool           `json:"connected"`
	Master    string         `json:"master"`
}

// JobFilter selects jobs for ListJobs. Zero fields do not filter.
type JobFilter struct {
	Fun    string    // exact function name, e.g. "cmd.run"
	Minion string    // jobs that expected this minion or got a return from it
	User   string    // exact user/token name
	Target string    // exact target expression (Job.Tgt)
	Since  time.Time // Created >= Since
	Until  time.Time // Created < Until
	// Success, when set: with Minion, that minion's return had this success
	// value. Without Minion, false selects jobs with at least one failed return
	// or a no-return record; true selects jobs with at least one return and no
	// failed return and no no-return record.
	Success *bool
	Limit   int    // page size; 0 means DefaultLimit, capped at MaxLimit
	Cursor  string // the next value of the previous page; "" for the first page
}

// Page sizes of ListJobs.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// PageLimit returns the effective page size for a requested limit.
func PageLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// Jobs records jobs and their lifecycle.
type Jobs interface {
	// CreateJob stores a new job with its expected minions; a JID already
	// stored is ErrExists.
	CreateJob(ctx context.Context, j Job) error
	// FinishJob sets the job's status and finish time and records the
	// minions that did not return. An unknown JID is ErrNotFound.
	FinishJob(ctx context.Context, jid, status string, noReturn []NoReturn, at time.Time) error
	// GetJob returns the job with its expected minions, returns (ordered by
	// minion) and no-return records; an unknown JID is ErrNotFound.
	GetJob(ctx context.Context, jid string) (*JobDetail, error)
	// ListJobs returns jobs matching f, newest (highest JID) first, without
	// their Expected lists, and the cursor of the next page ("" when this is
	// the last page).
	ListJobs(ctx context.Context, f JobFilter) (jobs []Job, next string, err error)
}

// Returns stores minion returns.
type Returns interface {
	// AddReturns stores returns in one batch; a (jid, minion) already stored
	// is ignored. Returns for unknown JIDs are stored too (the job row may
	// still be on its way).
	AddReturns(ctx context.Context, rs []Return) error
}

// Events stores the event bus history.
type Events interface {
	// AddEvents stores events in one batch; their ID fields are ignored.
	AddEvents(ctx context.Context, evs []Event) error
	// ListEvents returns up to limit events with ID > since in ID order
	// whose tag matches tagGlob (shell glob: * ? [...]; "" matches all).
	// IDs come from a sequence: with several masters writing, an event may
	// commit after one with a higher ID, so paging by ID suits history, not
	// live streaming (that is the event bus's job).
	ListEvents(ctx context.Context, since int64, tagGlob string, limit int) ([]Event, error)
}

// Minions stores the minion cache.
type Minions interface {
	// UpsertMinions inserts or updates minions. A nil Grains map keeps the
	// grains already stored (a heartbeat updates only LastSeen/Connected).
	UpsertMinions(ctx context.Context, ms []Minion) error
	// ListMinions returns every cached minion ordered by ID.
	ListMinions(ctx context.Context) ([]Minion, error)
	// GetMinion returns one minion; an unknown ID is ErrNotFound.
	GetMinion(ctx context.Context, id string) (*Minion, error)
}

// BatchStore is what the Writer needs.
type BatchStore interface {
	Returns
	AddEvents(ctx context.Context, evs []Event) error
	Health(ctx context.Context) error
}

// Counts summarises one job's outcome, for listings.
type Counts struct {
	Expected  int `json:"expected"`
	Returned  int `json:"returned"`
	Succeeded int `json:"succeeded"`
	NoReturn  int `json:"no_return"`
}

// Counter summarises many jobs at once, so a page of GET /jobs costs a few
// grouped queries instead of loading every job's returns.
type Counter interface {
	// JobCounts returns the counts of each JID given; JIDs the store does
	// not know are absent from the map.
	JobCounts(ctx context.Context, jids []string) (map[string]Counts, error)
}

// Store is a complete job store.
type Store interface {
	Jobs
	Counter
	Returns
	Events
	Minions
	// Prune deletes jobs created before now-keep (with their returns,
	// expected minions and no-return records) and events older than that.
	Prune(ctx context.Context, now time.Time, keep time.Duration) error
	// Health reports whether the store can serve requests now.
	Health(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}
