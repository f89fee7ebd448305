package main

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/brine-project/brine/pkg/api"
	"github.com/brine-project/brine/pkg/api/types"
)

// fakeMaster is a Backend whose jobs complete at once with scripted
// returns: minion "down" never returns, cmd.run of "false" fails, state.*
// returns a small state run with one failure on web2.
type fakeMaster struct {
	mu      sync.Mutex // guards everything below
	minions []string
	keys    map[string]types.Key
	jobs    map[string]*types.JobDetail
	last    types.JobRequest
	user    string
	seq     int

	waiting chan string // receives the JID of every Wait that blocks
}

func newFakeMaster() *fakeMaster {
	f := &fakeMaster{minions: []string{"db1", "web1", "web2"}, keys: map[string]types.Key{}, jobs: map[string]*types.JobDetail{},
		waiting: make(chan string, 16)}
	for _, id := range f.minions {
		f.keys[id] = types.Key{ID: id, State: types.KeyAccepted, Fingerprint: "aa:bb:" + id}
	}
	f.keys["new1"] = types.Key{ID: "new1", State: types.KeyPending, Fingerprint: "cc:dd"}
	return f
}

func (f *fakeMaster) lastRequest() types.JobRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func (f *fakeMaster) Resolve(_ context.Context, tgt, tgtType string) ([]string, error) {
	var out []string
	all := append(slices.Clone(f.minions), "down")
	for _, id := range all {
		var ok bool
		switch tgtType {
		case types.TgtList:
			ok = slices.Contains(strings.Split(tgt, ","), id)
		case types.TgtGrain:
			ok = tgt == "os:Debian" && id != "down"
		case types.TgtPCRE:
			ok = strings.HasPrefix(id, strings.TrimSuffix(tgt, ".*"))
		default:
			ok, _ = path.Match(tgt, id)
			if tgt == "*" {
				ok = id != "down" // '*' means the live ones; 'down' must be named
			}
		}
		if ok {
			out = append(out, id)
		}
	}
	return out, nil
}

func (f *fakeMaster) MatchMinion(_ context.Context, id, compound string) (bool, error) {
	ok, _ := path.Match(compound, id)
	return ok, nil
}

func stateReturn(fail bool) map[string]any {
	r := map[string]any{
		"file_|-motd_|-/etc/motd_|-managed": map[string]any{"result": true, "comment": "File /etc/motd updated",
			"changes": map[string]any{"diff": "+hello"}, "duration": 1.5, "__run_num__": 0.0, "name": "/etc/motd", "__id__": "motd"},
		"pkg_|-vim_|-vim_|-installed": map[string]any{"result": true, "comment": "already installed",
			"changes": map[string]any{}, "duration": 2.0, "__run_num__": 1.0, "name": "vim", "__id__": "vim"},
	}
	if fail {
		r["service_|-nginx_|-nginx_|-running"] = map[string]any{"result": false, "comment": "Service nginx failed to start",
			"changes": map[string]any{}, "duration": 3.0, "__run_num__": 2.0, "name": "nginx", "__id__": "nginx"}
	}
	return r
}

func (f *fakeMaster) Submit(ctx context.Context, req types.JobRequest, user string) (*types.JobDetail, error) {
	exp, _ := f.Resolve(ctx, req.Tgt, req.TgtType)
	if len(exp) == 0 {
		return nil, fmt.Errorf("fake: %w", api.ErrNoMatch)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last, f.user = req, user
	f.seq++
	j := &types.JobDetail{JID: fmt.Sprintf("20260101000000%06d_abc", f.seq), Fun: req.Fun, Arg: req.Arg, Kwarg: req.Kwarg, Tgt: req.Tgt,
		TgtType: req.TgtType, User: user, Created: time.Now().UTC(), Status: types.JobComplete, Expected: exp,
		Returns: map[string]types.MinionReturn{}}
	for _, m := range exp {
		if m == "down" {
			j.NoReturn = append(j.NoReturn, types.NoReturnEntry{Minion: m, Reason: types.NoReturnNotConnected})
			continue
		}
		r := types.MinionReturn{Return: true, Success: true, Duration: 0.001}
		switch {
		case req.Fun == "cmd.run" && len(req.Arg) > 0 && fmt.Sprint(req.Arg[0]) == "false" && m == "web2":
			r = types.MinionReturn{Return: "", Retcode: 1, Success: false}
		case req.Fun == "cmd.run":
			r.Return = fmt.Sprintf("Linux %s 6.1.0\nsecond line", m)
		case strings.HasPrefix(req.Fun, "state."):
			r.Return = stateReturn(m == "web2")
			if m == "web2" {
				r.Success, r.Retcode = false, 2
			}
		}
		j.Returns[m] = r
	}
	if req.Fun == "test.sleep" { // never completes: waits end by context
		j.Status, j.Returns, j.NoReturn = types.JobRunning, map[string]types.MinionReturn{}, nil
	}
	f.jobs[j.JID] = j
	cp := *j
	return &cp, nil
}

func (f *fakeMaster) Wait(ctx context.Context, jid string) (*types.JobDetail, error) {
	j, err := f.GetJob(ctx, jid)
	if err != nil || j.Status == types.JobComplete {
		return j, err
	}
	f.waiting <- jid
	<-ctx.Done()
	return nil, ctx.Err()
}

func (f *fakeMaster) GetJob(_ context.Context, jid string) (*types.JobDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[jid]
	if !ok {
		return nil, fmt.Errorf("fake: job %s: %w", jid, api.ErrNotFound)
	}
	cp := *j
	return &cp, nil
}

func (f *fakeMaster) ListJobs(_ context.Context, flt types.JobFilter) (*types.JobList, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := &types.JobList{Jobs: []types.JobSummary{}}
	for _, j := range f.jobs {
		if flt.Fun != "" && j.Fun != flt.Fun {
			continue
		}
		ok := 0
		for _, r := range j.Returns {
			if r.Success {
				ok++
			}
		}
		l.Jobs = append(l.Jobs, types.JobSummary{Succeeded: ok, JID: j.JID, Fun: j.Fun, Tgt: j.Tgt, TgtType: j.TgtType, User: j.User,
			Created: j.Created, Status: j.Status, Expected: len(j.Expected), Returned: len(j.Returns), NoReturn: len(j.NoReturn)})
	}
	slices.SortFunc(l.Jobs, func(a, b types.JobSummary) int { return strings.Compare(b.JID, a.JID) })
	return l, nil
}

func (f *fakeMaster) ListMinions(context.Context) ([]types.Minion, error) {
	var out []types.Minion
	for _, id := range f.minions {
		out = append(out, types.Minion{ID: id, Grains: map[string]any{"os": "Debian", "osrelease": "12"}, Connected: true,
			KeyState: types.KeyAccepted, LastSeen: time.Now()})
	}
	return out, nil
}

func (f *fakeMaster) GetMinion(ctx context.Context, id string) (*types.Minion, error) {
	ms, _ := f.ListMinions(ctx)
	for _, m := range ms {
		if m.ID == id {
			return &m, nil
		}
	}
	return nil, fmt.Errorf("fake: minion %s: %w", id, api.ErrNotFound)
}

func (f *fakeMaster) ListKeys(context.Context) ([]types.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []types.Key
	for _, id := range sortedKeys(f.keys) {
		out = append(out, f.keys[id])
	}
	return out, nil
}

func (f *fakeMaster) GetKey(_ context.Context, id string) (*types.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	if !ok {
		return nil, fmt.Errorf("fake: key %s: %w", id, api.ErrNotFound)
	}
	return &k, nil
}

func (f *fakeMaster) MasterKey(context.Context) (*types.Key, error) {
	return &types.Key{ID: "master", State: types.KeyMaster, Fingerprint: "ff:ee"}, nil
}

func (f *fakeMaster) set(id, state string) (*types.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	if !ok {
		return nil, fmt.Errorf("fake: key %s: %w", id, api.ErrNotFound)
	}
	k.State = state
	f.keys[id] = k
	return &k, nil
}

func (f *fakeMaster) AcceptKey(_ context.Context, id string) (*types.Key, error) {
	return f.set(id, types.KeyAccepted)
}

func (f *fakeMaster) RejectKey(_ context.Context, id string) (*types.Key, error) {
	return f.set(id, types.KeyRejected)
}

func (f *fakeMaster) DeleteKey(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.keys[id]; !ok {
		return fmt.Errorf("fake: key %s: %w", id, api.ErrNotFound)
	}
	delete(f.keys, id)
	return nil
}

func (f *fakeMaster) Health(context.Context) (*types.Health, error) {
	return &types.Health{Status: types.HealthOK, Store: "ok"}, nil
}
