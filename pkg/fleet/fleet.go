// Package fleet runs one in-process master and many in-process minions for
// tests and benchmarks at fleet scale. Everything is the real code over real
// sockets on 127.0.0.1: the master's hub, auth, job tracking and HTTP API,
// and each minion's transport clients, session, target matching and job
// runner, each minion with its own data and pki directories.
//
// Its promise: Start returns only once every minion has authenticated and
// subscribed to the master's publish port (it waits on those events with a
// deadline, never sleeps), so a job submitted through the API reaches them all;
// and the master can be stopped and started again on the same ports and data
// directory while the minions keep running.
//
// The harness learns when a master is listening and when a minion has
// authenticated from their log records ("master started", "authenticated"),
// read by a slog handler it injects: those are the daemons' own signals of
// those events, and they carry no secret.
package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/api"
	"github.com/brine-project/brine/pkg/api/client"
	"github.com/brine-project/brine/pkg/crypto"
	"github.com/brine-project/brine/pkg/job"
	"github.com/brine-project/brine/pkg/master"
	"github.com/brine-project/brine/pkg/minion"
)

// Options shape a fleet. The zero value is a usable default.
type Options struct {
	// AutoAccept makes the master accept every new key itself. Without it
	// the harness accepts each minion's key through the master's key store
	// before the minion first connects, as an operator would.
	AutoAccept bool
	// Master adjusts the master's configuration; addresses and
	// directories are already set, Defaults runs after it.
	Master func(*master.Config)
	// Minion adjusts each minion's configuration the same way.
	Minion func(*minion.Config)
	// Parallel is how many minions start at once (default 64).
	Parallel int
	// ReadyTimeout bounds Start's wait for the fleet (default 30s plus 20ms
	// per minion).
	ReadyTimeout time.Duration
	// Dir is where the fleet's data directories go (default: the test's
	// temporary directory). Pointing it at a tmpfs takes the disk out of
	// the measurement: in-process minions share one disk's fsync queue,
	// where real minions each have their own.
	Dir string
	// MasterLog and MinionLog are the lowest levels of the daemons' records
	// passed to the test log (nil: Warn and Error).
	MasterLog, MinionLog slog.Leveler
}

// Fleet is one master and its minions.
type Fleet struct {
	tb   testing.TB
	opts Options
	dir  string
	logw *tbWriter

	mu         sync.Mutex // guards the current master's fields below and members
	mcfg       master.Config
	master     *master.Master
	stopMaster context.CancelFunc
	masterDone chan error
	apiClient  *client.Client
	members    []*Member
	byID       map[string]*Member

	onJob atomic.Pointer[func(*Member, job.Job)]
}

// Member is one minion of the fleet.
type Member struct {
	ID     string
	Minion *minion.Minion

	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned

	mu       sync.Mutex // guards auths, updates, refusals, changed
	auths    []time.Time
	updates  []time.Time // session keys handed over without a new auth
	refusals []time.Time
	changed  chan struct{} // closed and replaced whenever a list grows
}

var raiseOnce sync.Once

// raiseFileLimit lifts the soft RLIMIT_NOFILE to the hard limit: every
// minion holds two sockets and the master two more for it.
func raiseFileLimit(tb testing.TB) {
	raiseOnce.Do(func() {
		var rl syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			tb.Logf("fleet: getrlimit: %v", err)
			return
		}
		if rl.Cur < rl.Max {
			rl.Cur = rl.Max
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
				tb.Logf("fleet: setrlimit: %v", err)
			}
		}
	})
}

// FileLimit is the process's soft limit on open files, after Start raised it.
func FileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}

// Start runs a master and n minions named fleet-0000... and returns once all
// are authenticated and subscribed. Everything stops in tb's cleanup.
func Start(tb testing.TB, n int, opts Options) *Fleet {
	tb.Helper()
	raiseFileLimit(tb)
	if opts.Parallel <= 0 {
		opts.Parallel = 64
	}
	if opts.MasterLog == nil {
		opts.MasterLog = slog.LevelWarn
	}
	if opts.MinionLog == nil {
		opts.MinionLog = slog.LevelError
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 30*time.Second + time.Duration(n)*20*time.Millisecond
	}
	f := &Fleet{tb: tb, opts: opts, logw: &tbWriter{tb: tb}, byID: map[string]*Member{}}
	if opts.Dir == "" {
		f.dir = tb.TempDir()
	} else {
		dir, err := os.MkdirTemp(opts.Dir, "brine-fleet-")
		if err != nil {
			tb.Fatalf("fleet: %v", err)
		}
		f.dir = dir
		tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	}
	tb.Cleanup(f.close)
	f.mcfg = master.Config{
		ID: "fleet-master", PublishAddr: "127.0.0.1:0", RequestAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0",
		DataDir: filepath.Join(f.dir, "master"), AutoAccept: opts.AutoAccept,
	}
	if opts.Master != nil {
		opts.Master(&f.mcfg)
	}
	f.mcfg.Defaults()
	if err := f.StartMaster(); err != nil {
		tb.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("fleet-%04d", i)
	}
	ms, err := f.AddMinions(ids...)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.ReadyTimeout)
	defer cancel()
	if err := f.WaitReady(ctx, time.Time{}, ms...); err != nil {
		tb.Fatal(err)
	}
	return f
}

// StartMaster starts a master on the fleet's configuration and waits until
// it listens. The first master binds port 0; later ones bind the ports the
// first one got, so minions find them again.
func (f *Fleet) StartMaster() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.master != nil {
		return fmt.Errorf("fleet: master already running")
	}
	started := make(chan struct{})
	var once sync.Once
	log := slog.New(&hookHandler{out: f.testHandler("master", f.opts.MasterLog), on: func(r slog.Record) {
		if r.Message == "master started" {
			once.Do(func() { close(started) })
		}
	}})
	ctx, cancel := context.WithCancel(context.Background())
	m, err := master.New(ctx, f.mcfg, log)
	if err != nil {
		cancel()
		return fmt.Errorf("fleet: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-started:
	case err := <-done:
		cancel()
		return fmt.Errorf("fleet: master stopped at start: %w", err)
	case <-time.After(30 * time.Second):
		cancel()
		<-done
		return fmt.Errorf("fleet: master not listening after 30s")
	}
	// Bind the same ports again after a restart.
	f.mcfg.PublishAddr = net.JoinHostPort("127.0.0.1", m.PublishPort())
	f.mcfg.RequestAddr = m.RequestAddr()
	f.mcfg.APIAddr = m.APIAddr()
	f.master, f.stopMaster, f.masterDone = m, cancel, done
	if f.apiClient == nil {
		tok, err := os.ReadFile(filepath.Join(f.mcfg.DataDir, api.AdminTokenFile))
		if err != nil {
			return fmt.Errorf("fleet: admin token: %w", err)
		}
		f.apiClient = client.New("http://"+m.APIAddr(), strings.TrimSpace(string(tok)), nil)
	}
	return nil
}

// StopMaster stops the running master and waits for its Run to return.
func (f *Fleet) StopMaster() error {
	f.mu.Lock()
	m, stop, done := f.master, f.stopMaster, f.masterDone
	f.master, f.stopMaster, f.masterDone = nil, nil, nil
	f.mu.Unlock()
	if m == nil {
		return nil
	}
	stop()
	if err := <-done; err != nil {
		return fmt.Errorf("fleet: master run: %w", err)
	}
	return nil
}

// Master is the running master (nil while stopped).
func (f *Fleet) Master() *master.Master {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.master
}

// API is an admin client of the master's HTTP API; it stays valid across
// master restarts (same address, same admin token).
func (f *Fleet) API() *client.Client {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apiClient
}

// Members are the fleet's minions sorted by id.
func (f *Fleet) Members() []*Member {
	f.mu.Lock()
	out := append([]*Member(nil), f.members...)
	f.mu.Unlock()
	slices.SortFunc(out, func(a, b *Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Member returns the minion called id, or nil.
func (f *Fleet) Member(id string) *Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byID[id]
}

// OnJob sets the function every minion calls (from its publish reader) for
// each job that matched it, before running it; nil removes it.
func (f *Fleet) OnJob(fn func(*Member, job.Job)) {
	if fn == nil {
		f.onJob.Store(nil)
		return
	}
	f.onJob.Store(&fn)
}

// AddMinions starts minions with the given ids, opts.Parallel at a time,
// without waiting for them to authenticate (see WaitReady).
func (f *Fleet) AddMinions(ids ...string) ([]*Member, error) {
	out := make([]*Member, len(ids))
	errs := make(chan error, len(ids))
	sem := make(chan struct{}, f.opts.Parallel)
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			m, err := f.addMinion(id)
			if err != nil {
				errs <- err
				return
			}
			out[i] = m
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return out, nil
}

func (f *Fleet) addMinion(id string) (*Member, error) {
	m := f.Master()
	if m == nil {
		return nil, fmt.Errorf("fleet: no master running")
	}
	dir := filepath.Join(f.dir, "minions", id)
	cfg := minion.Config{ID: id, Master: []string{f.mcfg.RequestAddr}, DataDir: dir,
		AcceptanceWaitTime: time.Second, ReconnectMin: 200 * time.Millisecond, ReconnectMax: 2 * time.Second}
	if f.opts.Minion != nil {
		f.opts.Minion(&cfg)
	}
	cfg.Defaults()
	if !f.opts.AutoAccept {
		// The operator's way: the key is known and accepted before the
		// minion ever says hello.
		kp, err := crypto.LoadOrCreate(cfg.PKIDir, "minion")
		if err != nil {
			return nil, fmt.Errorf("fleet: %s keys: %w", id, err)
		}
		if _, err := m.Keys().Decide(id, kp.Public); err != nil {
			return nil, fmt.Errorf("fleet: record key of %s: %w", id, err)
		}
		if err := m.Keys().Accept(id); err != nil {
			return nil, fmt.Errorf("fleet: accept key of %s: %w", id, err)
		}
	}
	mem := &Member{ID: id, done: make(chan struct{}), changed: make(chan struct{})}
	log := slog.New(&hookHandler{out: f.testHandler(id, f.opts.MinionLog), on: mem.observe})
	mn, err := minion.New(cfg, log, nil)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	mem.Minion = mn
	mn.SetJobHook(func(j job.Job) {
		if fn := f.onJob.Load(); fn != nil {
			(*fn)(mem, j)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	mem.cancel = cancel
	go func() {
		defer close(mem.done)
		if err := mn.Run(ctx); err != nil {
			f.logw.logf("fleet: minion %s: %v", id, err)
		}
	}()
	f.mu.Lock()
	f.members = append(f.members, mem)
	f.byID[id] = mem
	f.mu.Unlock()
	return mem, nil
}

// WaitReady waits until each of ms (all members when none are given) has
// authenticated after the instant since and is subscribed to the running
// master's publish port under its own topic.
func (f *Fleet) WaitReady(ctx context.Context, since time.Time, ms ...*Member) error {
	if len(ms) == 0 {
		ms = f.Members()
	}
	for _, m := range ms {
		if _, err := m.WaitAuth(ctx, since); err != nil {
			return err
		}
	}
	mst := f.Master()
	if mst == nil {
		return fmt.Errorf("fleet: no master running")
	}
	for _, m := range ms {
		if err := mst.Hub().WaitSubscribed(ctx, master.MinionTopic(m.ID), 1); err != nil {
			return fmt.Errorf("fleet: %s not subscribed: %w", m.ID, err)
		}
	}
	return nil
}

// Stop stops the minion and waits for its Run to return.
func (m *Member) Stop() {
	m.cancel()
	<-m.done
}

// observe records the minion's authentication events from its log.
func (m *Member) observe(r slog.Record) {
	var list *[]time.Time
	switch r.Message {
	case "authenticated":
		list = &m.auths
	case "session key updated":
		list = &m.updates
	case "key not accepted by the master":
		list = &m.refusals
	default:
		return
	}
	m.mu.Lock()
	*list = append(*list, r.Time)
	close(m.changed)
	m.changed = make(chan struct{})
	m.mu.Unlock()
}

// Auths are the instants the minion authenticated, oldest first.
func (m *Member) Auths() []time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Time(nil), m.auths...)
}

// WaitAuth returns the first instant after since at which the minion
// authenticated, waiting for it until ctx is done.
func (m *Member) WaitAuth(ctx context.Context, since time.Time) (time.Time, error) {
	return m.wait(ctx, since, &m.auths, "authenticate")
}

// WaitSessionKey returns the first instant after since at which the minion
// got a session key, by authenticating or by a key update after a rotation.
func (m *Member) WaitSessionKey(ctx context.Context, since time.Time) (time.Time, error) {
	for {
		m.mu.Lock()
		ch := m.changed
		first := time.Time{}
		for _, t := range append(slices.Clone(m.auths), m.updates...) {
			if t.After(since) && (first.IsZero() || t.Before(first)) {
				first = t
			}
		}
		m.mu.Unlock()
		if !first.IsZero() {
			return first, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("fleet: %s got no session key: %w", m.ID, ctx.Err())
		}
	}
}

// WaitRefused returns the first instant after since at which the master
// refused the minion's key, waiting for it until ctx is done.
func (m *Member) WaitRefused(ctx context.Context, since time.Time) (time.Time, error) {
	return m.wait(ctx, since, &m.refusals, "be refused")
}

func (m *Member) wait(ctx context.Context, since time.Time, list *[]time.Time, what string) (time.Time, error) {
	for {
		m.mu.Lock()
		ch := m.changed
		for _, t := range *list {
			if t.After(since) {
				m.mu.Unlock()
				return t, nil
			}
		}
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("fleet: %s did not %s: %w", m.ID, what, ctx.Err())
		}
	}
}

// close stops every minion (in parallel), then the master.
func (f *Fleet) close() {
	var wg sync.WaitGroup
	for _, m := range f.Members() {
		wg.Add(1)
		go func() { defer wg.Done(); m.Stop() }()
	}
	wg.Wait()
	if err := f.StopMaster(); err != nil {
		f.tb.Error(err)
	}
	f.logw.close()
}
