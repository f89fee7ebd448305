package api

import (
	"context"
	"errors"

	"github.com/brine-project/brine/pkg/api/types"
)

// Sentinel errors a Backend returns (wrapped with %w is fine); the server
// maps them to HTTP statuses. Any other error is a 500 whose text is logged,
// not shown.
var (
	// ErrNotFound: the job, minion or key does not exist (404).
	ErrNotFound = errors.New("api: not found")
	// ErrNoMatch: the target matched no minion (422).
	ErrNoMatch = errors.New("api: target matched no minion")
	// ErrBadRequest: the request is invalid in a way only the backend can
	// tell, e.g. a malformed compound expression (400). Its text is shown.
	ErrBadRequest = errors.New("api: bad request")
	// ErrConflict: the action does not fit the current state, e.g. accepting
	// a denied key (409). Its text is shown.
	ErrConflict = errors.New("api: conflict")
	// ErrUnavailable: the job store (or another dependency) is down (503).
	ErrUnavailable = errors.New("api: unavailable")
)

// JobSubmitter starts jobs.
type JobSubmitter interface {
	// Submit resolves the request's target into the expected minions, stores
	// the job as submitted by user, publishes it and fires its
	// brine/job/<jid>/new event. It returns at once with the job (status
	// running, expected filled in). The request has been normalized and
	// authorized; a target that matches nothing is ErrNoMatch.
	Submit(ctx context.Context, req types.JobRequest, user string) (*types.JobDetail, error)
	// Wait returns the job once it is complete (every expected minion
	// answered, or its timeout passed and no_return is filled in), or
	// ctx.Err() when ctx is done first.
	Wait(ctx context.Context, jid string) (*types.JobDetail, error)
}

// JobReader reads job history.
type JobReader interface {
	// GetJob returns a job as it stands now, or ErrNotFound.
	GetJob(ctx context.Context, jid string) (*types.JobDetail, error)
	// ListJobs returns one page of jobs matching f, newest first.
	ListJobs(ctx context.Context, f types.JobFilter) (*types.JobList, error)
}

// MinionReader reads the master's minion cache.
type MinionReader interface {
	// ListMinions returns every known minion, sorted by id.
	ListMinions(ctx context.Context) ([]types.Minion, error)
	// GetMinion returns one minion, or ErrNotFound.
	GetMinion(ctx context.Context, id string) (*types.Minion, error)
}

// Targeter evaluates targets against the minion cache, with the same code
// the minions use.
type Targeter interface {
	// Resolve returns the minions tgt matches (sorted); ErrNoMatch or an
	// empty list when none; ErrBadRequest for a malformed expression.
	Resolve(ctx context.Context, tgt, tgtType string) ([]string, error)
	// MatchMinion reports whether minion id matches a compound expression
	// (an API token's permission target).
	MatchMinion(ctx context.Context, id, compound string) (bool, error)
}

// KeyReader reads the master's key store.
type KeyReader interface {
	// ListKeys returns every minion key, sorted by id.
	ListKeys(ctx context.Context) ([]types.Key, error)
	// GetKey returns one minion key, or ErrNotFound.
	GetKey(ctx context.Context, id string) (*types.Key, error)
	// MasterKey returns the master's own key (ID: the master's id, State:
	// types.KeyMaster) so operators can compare its fingerprint.
	MasterKey(ctx context.Context) (*types.Key, error)
}

// KeyManager changes key states. Each returns the key as it is afterwards,
// ErrNotFound, or ErrConflict when the key's state forbids the change.
type KeyManager interface {
	AcceptKey(ctx context.Context, id string) (*types.Key, error)
	RejectKey(ctx context.Context, id string) (*types.Key, error)
	// DeleteKey forgets a key (the minion must authenticate again).
	DeleteKey(ctx context.Context, id string) error
}

// HealthChecker reports the master's health.
type HealthChecker interface {
	// Health returns the master's state; Status "degraded" (e.g. the job
	// store is down) makes GET /health answer 503.
	Health(ctx context.Context) (*types.Health, error)
}

// Backend is everything the API server needs from the master. The master
// implements it; tests use a small fake.
type Backend interface {
	JobSubmitter
	JobReader
	MinionReader
	Targeter
	KeyReader
	KeyManager
	HealthChecker
}
