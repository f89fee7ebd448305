package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/brine-project/brine/pkg/api"
	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/crypto"
	"github.com/brine-project/brine/pkg/events"
	"github.com/brine-project/brine/pkg/grains"
	"github.com/brine-project/brine/pkg/job"
	"github.com/brine-project/brine/pkg/jobstore"
	"github.com/brine-project/brine/pkg/keys"
	"github.com/brine-project/brine/pkg/target"
)

// backend is the master as the API server sees it.
type backend Master

var _ api.Backend = (*backend)(nil)

// Submit resolves the target, stores the job, starts tracking it and
// publishes it, in that order: a return can never arrive for a job the
// master does not know yet.
func (b *backend) Submit(ctx context.Context, req types.JobRequest, user string) (*types.JobDetail, error) {
	m := (*Master)(b)
	expected, err := m.cache.resolve(req.Tgt, req.TgtType)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	// A restricted token was cleared for the minions the API resolved; the
	// cache may have changed since, so only those may be expected, and the
	// job travels as their list.
	authorized, restricted := api.AuthorizedMinions(ctx)
	if restricted {
		expected = intersect(expected, authorized)
	}
	if len(expected) == 0 {
		return nil, fmt.Errorf("%w: %s target %q", api.ErrNoMatch, req.TgtType, req.Tgt)
	}
	timeout := m.cfg.Timeout
	if req.Timeout > 0 {
		timeout = time.Duration(req.Timeout * float64(time.Second))
	}
	now := time.Now()
	j := jobstore.Job{JID: m.jids.Next(now), Fun: req.Fun, Arg: req.Arg, Kwarg: req.Kwarg, Tgt: req.Tgt, TgtType: req.TgtType,
		User: user, Master: m.cfg.ID, Created: now, Timeout: timeout, Status: jobstore.StatusRunning, Expected: expected}
	if err := m.store.CreateJob(ctx, j); err != nil {
		return nil, fmt.Errorf("%w: job store: %v", api.ErrUnavailable, err)
	}
	// Nodegroups live in the master's config, which minions do not have:
	// such targets travel as the list they resolved to.
	var tgt any = req.Tgt
	tgtType := req.TgtType
	if restricted || tgtType == target.Nodegroup || tgtType == target.Compound && strings.Contains(req.Tgt, "N@") {
		tgt, tgtType = expected, target.List
	}
	body, err := json.Marshal(job.Job{JID: j.JID, Tgt: tgt, TgtType: tgtType, Fun: req.Fun, Arg: req.Arg,
		Kwarg: req.Kwarg, User: user, Timeout: timeout.Seconds(), Pillar: req.Pillar})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	msg, err := m.auth.SealPublishID(j.JID, job.KindJob, body)
	if err != nil {
		return nil, fmt.Errorf("master: seal job: %w", err)
	}
	var unreachable []string
	for _, id := range expected {
		if !m.cache.connected(id) {
			unreachable = append(unreachable, id)
		}
	}
	m.jobs.add(j, nil, unreachable)
	m.bus.Publish(events.JobNewTag(j.JID), map[string]any{"jid": j.JID, "fun": j.Fun, "tgt": j.Tgt, "tgt_type": j.TgtType,
		"user": user, "minions": expected})
	m.hub.Publish([]byte(TopicAll), msg)
	d, _ := m.jobs.detail(j.JID)
	if d == nil { // completed and evicted already: cannot happen within keepDone
		d = toAPIJob(&jobstore.JobDetail{Job: j})
	}
	return d, nil
}

// Wait blocks until the job completes, from memory when this master tracks
// it, else by watching the store.
func (b *backend) Wait(ctx context.Context, jid string) (*types.JobDetail, error) {
	m := (*Master)(b)
	if d, ok, err := m.jobs.wait(ctx, jid); ok {
		return d, err
	}
	for {
		d, err := b.GetJob(ctx, jid)
		if err != nil || d.Status == types.JobComplete {
			return d, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (b *backend) GetJob(ctx context.Context, jid string) (*types.JobDetail, error) {
	m := (*Master)(b)
	if d, ok := m.jobs.detail(jid); ok {
		return d, nil
	}
	d, err := m.store.GetJob(ctx, jid)
	if errors.Is(err, jobstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: job %s", api.ErrNotFound, jid)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", api.ErrUnavailable, err)
	}
	return toAPIJob(d), nil
}

func (b *backend) ListJobs(ctx context.Context, f types.JobFilter) (*types.JobList, error) {
	m := (*Master)(b)
	jobs, next, err := m.store.ListJobs(ctx, jobstore.JobFilter{Fun: f.Fun, Minion: f.Minion, User: f.User, Since: f.Since,
		Until: f.Until, Success: f.Success, Limit: f.Limit, Cursor: f.Cursor})
	if err != nil {
		if errors.Is(err, jobstore.ErrInvalid) {
			return nil, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
		}
		return nil, fmt.Errorf("%w: %v", api.ErrUnavailable, err)
	}
	jids := make([]string, len(jobs))
	for i, j := range jobs {
		jids[i] = j.JID
	}
	counts, err := m.store.JobCounts(ctx, jids)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", api.ErrUnavailable, err)
	}
	out := &types.JobList{Jobs: []types.JobSummary{}, Next: next}
	for _, j := range jobs {
		c := counts[j.JID]
		s := types.JobSummary{JID: j.JID, Fun: j.Fun, Tgt: j.Tgt, TgtType: j.TgtType, User: j.User, Created: j.Created,
			Status: types.JobStatus(j.Status), Expected: c.Expected, Returned: c.Returned, Succeeded: c.Succeeded, NoReturn: c.NoReturn}
		// A job this master still tracks is fresher in memory than in the
		// store (its last returns may be in the writer's current batch).
		if d, ok := m.jobs.detail(j.JID); ok {
			s.Status, s.Expected, s.Returned, s.NoReturn = d.Status, len(d.Expected), len(d.Returns), len(d.NoReturn)
			s.Succeeded = 0
			for _, r := range d.Returns {
				if r.Success {
					s.Succeeded++
				}
			}
		}
		out.Jobs = append(out.Jobs, s)
	}
	return out, nil
}

func (b *backend) ListMinions(ctx context.Context) ([]types.Minion, error) {
	m := (*Master)(b)
	ids := map[string]bool{}
	m.cache.mu.RLock()
	for id := range m.cache.minions {
		ids[id] = true
	}
	for id := range m.cache.accepted {
		ids[id] = true
	}
	m.cache.mu.RUnlock()
	out := []types.Minion{}
	for _, id := range sortedKeys(ids) {
		mn, err := b.GetMinion(ctx, id)
		if err == nil {
			// The list stays small: GET /minions/{id} has every grain.
			mn.Grains = pick(mn.Grains, "os", "osrelease", "os_family", "kernel")
			out = append(out, *mn)
		}
	}
	return out, nil
}

func (b *backend) GetMinion(ctx context.Context, id string) (*types.Minion, error) {
	m := (*Master)(b)
	mn, seen, ok := m.cache.minion(id)
	if !ok {
		return nil, fmt.Errorf("%w: minion %s", api.ErrNotFound, id)
	}
	state := ""
	if k, err := m.keys.Get(id); err == nil {
		state = string(k.State)
	}
	return &types.Minion{ID: id, Grains: mn.Grains, LastSeen: seen, Connected: m.cache.connected(id), KeyState: state}, nil
}

func (b *backend) Resolve(ctx context.Context, tgt, tgtType string) ([]string, error) {
	ids, err := (*Master)(b).cache.resolve(tgt, tgtType)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: %s target %q", api.ErrNoMatch, tgtType, tgt)
	}
	return ids, nil
}

func (b *backend) MatchMinion(ctx context.Context, id, compound string) (bool, error) {
	m := (*Master)(b)
	mn, _, _ := m.cache.minion(id)
	ok, err := m.matcher.Match(compound, target.Compound, mn)
	if err != nil {
		return false, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	return ok, nil
}

func (b *backend) ListKeys(ctx context.Context) ([]types.Key, error) {
	ks, err := (*Master)(b).keys.List()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", api.ErrUnavailable, err)
	}
	out := make([]types.Key, 0, len(ks))
	for _, k := range ks {
		out = append(out, types.Key{ID: k.ID, State: string(k.State), Fingerprint: k.Fingerprint()})
	}
	return out, nil
}

func (b *backend) GetKey(ctx context.Context, id string) (*types.Key, error) {
	k, err := (*Master)(b).keys.Get(id)
	if err != nil {
		return nil, keyErr(err)
	}
	return &types.Key{ID: k.ID, State: string(k.State), Fingerprint: k.Fingerprint()}, nil
}

func (b *backend) MasterKey(ctx context.Context) (*types.Key, error) {
	m := (*Master)(b)
	return &types.Key{ID: m.cfg.ID, State: types.KeyMaster, Fingerprint: crypto.Fingerprint(m.kp.Public.Sign)}, nil
}

func (b *backend) AcceptKey(ctx context.Context, id string) (*types.Key, error) {
	if err := (*Master)(b).keys.Accept(id); err != nil {
		return nil, keyErr(err)
	}
	return b.GetKey(ctx, id)
}

func (b *backend) RejectKey(ctx context.Context, id string) (*types.Key, error) {
	if err := (*Master)(b).keys.Reject(id); err != nil {
		return nil, keyErr(err)
	}
	return b.GetKey(ctx, id)
}

func (b *backend) DeleteKey(ctx context.Context, id string) error {
	return keyErr((*Master)(b).keys.Delete(id))
}

func keyErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keys.ErrNotFound):
		return fmt.Errorf("%w: %v", api.ErrNotFound, err)
	}
	return fmt.Errorf("%w: %v", api.ErrConflict, err)
}

func (b *backend) Health(ctx context.Context) (*types.Health, error) {
	m := (*Master)(b)
	h := &types.Health{Status: types.HealthOK, Store: "ok", Version: grains.Version,
		MinionsConnected: m.hub.Stats().Subscribers, Details: map[string]any{}}
	st := m.writer.Stats()
	// Rows are returns and events, written by the same batching writer.
	h.Details["rows_stored"], h.Details["rows_spooled"], h.Details["rows_replayed"] = st.Stored, st.Spooled, st.Replayed
	h.Details["file_bytes_served"] = m.fileBytes.Load()
	if err := m.store.Health(ctx); err != nil {
		h.Status, h.Store = types.HealthDegraded, err.Error()
	} else if m.writer.Degraded() {
		h.Status, h.Store = types.HealthDegraded, "replaying spooled returns"
	}
	return h, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

func intersect(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if in[s] {
			out = append(out, s)
		}
	}
	return out
}

func pick(m map[string]any, keys ...string) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}
