package api

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/brine-project/brine/pkg/api/types"
)

// fakeBackend is an in-memory master: glob and list targeting over a fixed
// set of minions, jobs completed by the test through complete().
type fakeBackend struct {
	mu        sync.Mutex // guards everything below
	minions   map[string]types.Minion
	keys      map[string]types.Key
	jobs      map[string]*types.JobDetail
	done      map[string]chan struct{}
	seq       int
	storeDown bool
	degraded  bool

	allowed    []string // AuthorizedMinions seen by the last Submit
	restricted bool

	submitted   chan string // receives each submitted JID
	waitReturns chan error  // receives what each Wait call returned
}

func newFake(ids ...string) *fakeBackend {
	f := &fakeBackend{
		minions:     map[string]types.Minion{},
		keys:        map[string]types.Key{},
		jobs:        map[string]*types.JobDetail{},
		done:        map[string]chan struct{}{},
		submitted:   make(chan string, 100),
		waitReturns: make(chan error, 100),
	}
	for _, id := range ids {
		f.minions[id] = types.Minion{ID: id, Grains: map[string]any{"id": id, "os": "Debian"}, Connected: true, KeyState: types.KeyAccepted}
		f.keys[id] = types.Key{ID: id, State: types.KeyAccepted, Fingerprint: "ab:cd:" + id}
	}
	return f
}

func (f *fakeBackend) match(tgt, tgtType, id string) bool {
	switch tgtType {
	case types.TgtList:
		return slices.Contains(strings.Split(tgt, ","), id)
	default: // glob, and compound targets made of one glob in these tests
		ok, _ := path.Match(tgt, id)
		return ok
	}
}

func (f *fakeBackend) Resolve(_ context.Context, tgt, tgtType string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.storeDown {
		return nil, fmt.Errorf("fake: %w", ErrUnavailable)
	}
	if strings.Contains(tgt, "((") {
		return nil, fmt.Errorf("fake: unbalanced parentheses: %w", ErrBadRequest)
	}
	var out []string
	for id := range f.minions {
		if f.match(tgt, tgtType, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (f *fakeBackend) MatchMinion(_ context.Context, id, compound string) (bool, error) {
	return f.match(compound, types.TgtGlob, id), nil
}

func (f *fakeBackend) Submit(ctx context.Context, req types.JobRequest, user string) (*types.JobDetail, error) {
	exp, err := f.Resolve(ctx, req.Tgt, req.TgtType)
	if err != nil {
		return nil, err
	}
	if len(exp) == 0 {
		return nil, fmt.Errorf("fake: %q: %w", req.Tgt, ErrNoMatch)
	}
	f.mu.Lock()
	f.allowed, f.restricted = AuthorizedMinions(ctx)
	f.seq++
	j := &types.JobDetail{JID: fmt.Sprintf("2026010100000000000%d_abc", f.seq), Fun: req.Fun, Arg: req.Arg, Kwarg: req.Kwarg,
		Tgt: req.Tgt, TgtType: req.TgtType, User: user, Created: time.Now().UTC(), Timeout: req.Timeout,
		Status: types.JobRunning, Expected: exp}
	f.jobs[j.JID] = j
	f.done[j.JID] = make(chan struct{})
	cp := *j
	f.mu.Unlock()
	f.submitted <- j.JID
	return &cp, nil
}

// complete records returns (and no-returns for the rest) and wakes waiters.
func (f *fakeBackend) complete(jid string, rets map[string]types.MinionReturn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[jid]
	j.Returns = rets
	for _, m := range j.Expected {
		if _, ok := rets[m]; !ok {
			j.NoReturn = append(j.NoReturn, types.NoReturnEntry{Minion: m, Reason: types.NoReturnNoResponse})
		}
	}
	j.Status = types.JobComplete
	close(f.done[jid])
}

func (f *fakeBackend) Wait(ctx context.Context, jid string) (*types.JobDetail, error) {
	f.mu.Lock()
	done, ok := f.done[jid]
	f.mu.Unlock()
	if !ok {
		return nil, ErrNotFound
	}
	select {
	case <-done:
		f.waitReturns <- nil
		return f.GetJob(ctx, jid)
	case <-ctx.Done():
		f.waitReturns <- ctx.Err()
		return nil, ctx.Err()
	}
}

func (f *fakeBackend) GetJob(_ context.Context, jid string) (*types.JobDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[jid]
	if !ok {
		return nil, fmt.Errorf("fake: job %s: %w", jid, ErrNotFound)
	}
	cp := *j
	return &cp, nil
}

func (f *fakeBackend) ListJobs(_ context.Context, flt types.JobFilter) (*types.JobList, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.storeDown {
		return nil, fmt.Errorf("fake: dial tcp 10.0.0.5:5432: %w", ErrUnavailable)
	}
	out := &types.JobList{}
	for _, j := range f.jobs {
		if (flt.User != "" && j.User != flt.User) || (flt.Fun != "" && j.Fun != flt.Fun) {
			continue
		}
		out.Jobs = append(out.Jobs, types.JobSummary{JID: j.JID, Fun: j.Fun, Tgt: j.Tgt, TgtType: j.TgtType, User: j.User,
			Created: j.Created, Status: j.Status, Expected: len(j.Expected), Returned: len(j.Returns)})
	}
	slices.SortFunc(out.Jobs, func(a, b types.JobSummary) int { return strings.Compare(b.JID, a.JID) })
	if flt.Limit > 0 && len(out.Jobs) > flt.Limit {
		out.Jobs, out.Next = out.Jobs[:flt.Limit], out.Jobs[flt.Limit-1].JID
	}
	return out, nil
}

func (f *fakeBackend) ListMinions(context.Context) ([]types.Minion, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []types.Minion
	for _, m := range f.minions {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b types.Minion) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (f *fakeBackend) GetMinion(_ context.Context, id string) (*types.Minion, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.minions[id]
	if !ok {
		return nil, fmt.Errorf("fake: minion %s: %w", id, ErrNotFound)
	}
	return &m, nil
}

func (f *fakeBackend) ListKeys(context.Context) ([]types.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []types.Key
	for _, k := range f.keys {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b types.Key) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (f *fakeBackend) GetKey(_ context.Context, id string) (*types.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	if !ok {
		return nil, fmt.Errorf("fake: key %s: %w", id, ErrNotFound)
	}
	return &k, nil
}

func (f *fakeBackend) MasterKey(context.Context) (*types.Key, error) {
	return &types.Key{ID: "master", State: types.KeyMaster, Fingerprint: "12:34"}, nil
}

func (f *fakeBackend) setKey(id, want string) (*types.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	if !ok {
		return nil, fmt.Errorf("fake: key %s: %w", id, ErrNotFound)
	}
	if k.State == types.KeyDenied {
		return nil, fmt.Errorf("fake: key %s is denied: %w", id, ErrConflict)
	}
	k.State = want
	f.keys[id] = k
	return &k, nil
}

func (f *fakeBackend) AcceptKey(_ context.Context, id string) (*types.Key, error) {
	return f.setKey(id, types.KeyAccepted)
}

func (f *fakeBackend) RejectKey(_ context.Context, id string) (*types.Key, error) {
	return f.setKey(id, types.KeyRejected)
}

func (f *fakeBackend) DeleteKey(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.keys[id]; !ok {
		return fmt.Errorf("fake: key %s: %w", id, ErrNotFound)
	}
	delete(f.keys, id)
	return nil
}

func (f *fakeBackend) Health(context.Context) (*types.Health, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.degraded {
		return &types.Health{Status: types.HealthDegraded, Store: "down"}, nil
	}
	return &types.Health{Status: types.HealthOK, Store: "ok", MinionsConnected: len(f.minions)}, nil
}
