// Package minion wires the minion daemon: it authenticates to a master over
// the request port, subscribes to the publish port, opens and verifies each
// publish, runs the jobs whose target matches it and sends their returns
// back, keeping each return on disk until the master acknowledges it.
package minion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/brine-project/brine/pkg/crypto"
	"github.com/brine-project/brine/pkg/fileserver"
	"github.com/brine-project/brine/pkg/grains"
	"github.com/brine-project/brine/pkg/job"
	"github.com/brine-project/brine/pkg/module"
	"github.com/brine-project/brine/pkg/proto"
	"github.com/brine-project/brine/pkg/render"
	"github.com/brine-project/brine/pkg/session"
	"github.com/brine-project/brine/pkg/target"
	"github.com/brine-project/brine/pkg/transport"
)

// Topics a minion subscribes to: broadcasts, and messages for it alone.
const topicAll = "all"

// ErrNotAccepted is returned by requests made while the master has not
// accepted this minion's key.
var ErrNotAccepted = errors.New("minion: not authenticated with a master")

// Minion is one running minion daemon.
type Minion struct {
	cfg     Config
	log     *slog.Logger
	reg     *module.Registry
	sess    *session.Client
	req     *transport.Requester
	runner  *runner
	spool   *spool
	files   *fileserver.Cache
	matcher target.Matcher

	mu      sync.RWMutex // guards grains, pillar, authed, subCancel, subAddr
	grains  map[string]any
	pillar  map[string]any
	authed  chan struct{} // closed while authenticated; replaced on loss
	subAddr string
	subCanc context.CancelFunc
	reauth  chan time.Duration // ask the auth loop to hello again after a delay
	kick    chan struct{}      // returns are waiting in the spool
	life    context.Context    // the daemon's lifetime: jobs run under it
	onJob   func(job.Job)      // see SetJobHook
}

// New prepares a minion; it connects to nothing until Run.
func New(cfg Config, log *slog.Logger, reg *module.Registry) (*Minion, error) {
	if reg == nil {
		reg = module.Default
	}
	kp, err := crypto.LoadOrCreate(cfg.PKIDir, "minion")
	if err != nil {
		return nil, fmt.Errorf("minion: %w", err)
	}
	sess, err := session.NewClient(session.ClientConfig{ID: cfg.ID, Keys: kp, PKIDir: cfg.PKIDir,
		MasterFinger: cfg.MasterFinger, Window: cfg.PublishWindow, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("minion: %w", err)
	}
	sp, err := openSpool(filepath.Join(cfg.DataDir, "returns"))
	if err != nil {
		return nil, err
	}
	m := &Minion{cfg: cfg, log: log, reg: reg, sess: sess, spool: sp, authed: make(chan struct{}),
		reauth: make(chan time.Duration, 1), kick: make(chan struct{}, 1), pillar: map[string]any{}}
	m.files = fileserver.NewCache(filepath.Join(cfg.DataDir, "cache"), masterFiles{m})
	m.runner = newRunner(log, reg, cfg.MaxJobs, sp, m.jobEnv, func(job.Return) { m.kickSender() })
	return m, nil
}

// Run collects grains, connects and serves until ctx is done.
func (m *Minion) Run(ctx context.Context) error {
	m.life = ctx
	if _, err := m.RefreshGrains(ctx); err != nil {
		return err
	}
	req, err := transport.NewRequester(transport.RequesterConfig{
		ClientConfig: transport.ClientConfig{Addrs: m.cfg.Master, Identity: m.cfg.ID, Logger: m.log,
			Backoff: transport.Backoff{Min: m.cfg.ReconnectMin, Max: m.cfg.ReconnectMax}},
		OnConnect: m.onConnect,
	})
	if err != nil {
		return fmt.Errorf("minion: %w", err)
	}
	m.req = req
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = req.Run(ctx) }()
	go func() { defer wg.Done(); m.sender(ctx) }()
	m.log.Info("minion started", slog.String("id", m.cfg.ID), slog.Any("master", m.cfg.Master))
	<-ctx.Done()
	wg.Wait()
	m.mu.Lock()
	if m.subCanc != nil {
		m.subCanc()
	}
	m.mu.Unlock()
	m.log.Info("minion stopped")
	return nil
}

// onConnect runs for each request-port connection: authenticate, then keep
// re-authenticating when the master asks, until the connection ends.
func (m *Minion) onConnect(ctx context.Context, addr string) {
	delay := time.Duration(0)
	for {
		if delay > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
		}
		ok, err := m.authenticate(ctx, addr)
		switch {
		case ctx.Err() != nil:
			m.setAuthed(false)
			return
		case err != nil:
			m.log.Warn("authentication failed", slog.String("master", addr), slog.Any("err", err))
			delay = m.cfg.AcceptanceWaitTime
			continue
		case !ok:
			delay = m.cfg.AcceptanceWaitTime
			continue
		}
		select {
		case <-ctx.Done():
			m.setAuthed(false)
			return
		case delay = <-m.reauth:
			m.setAuthed(false)
		}
	}
}

// authenticate sends a hello and installs the keys of an accepted reply.
func (m *Minion) authenticate(ctx context.Context, addr string) (bool, error) {
	hello, err := m.sess.Hello()
	if err != nil {
		return false, err
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	frames, err := m.req.Request(rctx, hello)
	if err != nil {
		return false, err
	}
	if len(frames) != 1 {
		return false, fmt.Errorf("minion: auth reply of %d frames", len(frames))
	}
	status, err := m.sess.HandleAuthReply(frames[0])
	if err != nil {
		return false, err
	}
	if status != proto.StatusAccepted {
		m.log.Info("key not accepted by the master", slog.String("master", addr), slog.String("status", status.String()))
		return false, nil
	}
	reply, err := proto.DecodeAuthReply(frames[0])
	if err != nil {
		return false, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("minion: master address %q: %w", addr, err)
	}
	m.subscribe(net.JoinHostPort(host, strconv.FormatUint(reply.PublishPort, 10)))
	m.setAuthed(true)
	m.log.Info("authenticated", slog.String("master", addr), slog.Uint64("session", m.sess.SessionKeyID()))
	go m.afterAuth(ctx)
	return true, nil
}

// afterAuth tells the master our grains, fetches our pillar and resends
// returns the master has not acknowledged.
func (m *Minion) afterAuth(ctx context.Context) {
	m.mu.RLock()
	g := m.grains
	m.mu.RUnlock()
	body, _ := json.Marshal(job.Grains{Grains: g})
	if _, err := m.call(ctx, job.KindGrains, body); err != nil {
		m.log.Warn("grains not sent", slog.Any("err", err))
	}
	if _, err := m.RefreshPillar(ctx); err != nil {
		m.log.Warn("pillar not refreshed", slog.Any("err", err))
	}
	m.kickSender()
}

func (m *Minion) setAuthed(ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.authed:
		if !ok {
			m.authed = make(chan struct{})
		}
	default:
		if ok {
			close(m.authed)
		}
	}
}

// subscribe (re)starts the publish-port client when the publish address
// changed (first auth, or failover to another master).
func (m *Minion) subscribe(addr string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subAddr == addr && m.subCanc != nil {
		return
	}
	if m.subCanc != nil {
		m.subCanc()
	}
	sub, err := transport.NewSubscriber(transport.SubscriberConfig{
		ClientConfig: transport.ClientConfig{Addrs: []string{addr}, Identity: m.cfg.ID, Logger: m.log,
			Backoff: transport.Backoff{Min: m.cfg.ReconnectMin, Max: m.cfg.ReconnectMax}},
		Topics:      []string{topicAll, "m:" + m.cfg.ID},
		IdleTimeout: 30 * time.Second,
	}, m.onPublish)
	if err != nil {
		m.log.Error("publish subscription", slog.Any("err", err))
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.subAddr, m.subCanc = addr, cancel
	go func() { _ = sub.Run(ctx) }()
}

// onPublish runs in the subscriber's reading goroutine: it verifies and
// dispatches, never runs a job itself.
func (m *Minion) onPublish(frames [][]byte) {
	if len(frames) != 2 {
		return
	}
	data := frames[1]
	t, err := proto.PeekType(data)
	if err != nil {
		return
	}
	switch t {
	case proto.TypeReplyEnvelope:
		// A new session key sealed for us alone, after a rotation.
		if fresh, err := m.sess.HandleKeyUpdate(data); err != nil {
			m.log.Debug("key update dropped", slog.Any("err", err))
		} else if fresh {
			m.log.Info("session key updated", slog.Uint64("session", m.sess.SessionKeyID()))
		}
	case proto.TypeReAuth:
		wait, needed, err := m.sess.HandleReAuth(data)
		if err != nil || !needed {
			return
		}
		select {
		case m.reauth <- wait:
		default:
		}
	case proto.TypePublish:
		kind, body, err := m.sess.OpenPublish(data)
		if err != nil {
			m.log.Debug("publish dropped", slog.Any("err", err))
			return
		}
		if kind != job.KindJob {
			return
		}
		var j job.Job
		if err := job.Decode(kind, body, &j); err != nil {
			m.log.Warn("job dropped", slog.Any("err", err))
			return
		}
		if !m.matches(&j) {
			return
		}
		if m.onJob != nil {
			m.onJob(j)
		}
		m.runner.Start(m.life, j)
	}
}

func (m *Minion) matches(j *job.Job) bool {
	tgt, err := target.TgtString(j.Tgt)
	if err != nil {
		return false
	}
	m.mu.RLock()
	mn := target.Minion{ID: m.cfg.ID, Grains: m.grains, Pillar: m.pillar}
	m.mu.RUnlock()
	ok, err := m.matcher.Match(tgt, j.TgtType, mn)
	if err != nil {
		m.log.Debug("target not evaluated", slog.String("jid", j.JID), slog.Any("err", err))
	}
	return ok
}

// jobEnv is the module environment of one job: our grains, and our pillar
// with the job's overrides merged on top.
func (m *Minion) jobEnv(j *job.Job) *module.Env {
	m.mu.RLock()
	g, p := m.grains, m.pillar
	m.mu.RUnlock()
	if len(j.Pillar) > 0 {
		p = render.MergeRecurse(render.DeepCopy(p).(map[string]any), j.Pillar, false)
	}
	return &module.Env{MinionID: m.cfg.ID, Grains: g, Pillar: p, Opts: m.opts(), Log: m.log, Runtime: m}
}

func (m *Minion) opts() map[string]any {
	return map[string]any{"id": m.cfg.ID, "master": m.cfg.Master, "pki_dir": m.cfg.PKIDir, "cachedir": m.cfg.DataDir,
		"file_roots": m.cfg.FileRoots, "pillar_roots": m.cfg.PillarRoots}
}

// call sends one sealed request to the master and opens its reply.
func (m *Minion) call(ctx context.Context, kind string, body []byte) (*proto.Reply, error) {
	m.mu.RLock()
	authed := m.authed
	m.mu.RUnlock()
	select {
	case <-authed:
	default:
		return nil, ErrNotAccepted
	}
	data, _, err := m.sess.SealRequest(kind, body)
	if err != nil {
		return nil, err
	}
	frames, err := m.req.Request(ctx, data)
	if err != nil {
		return nil, err
	}
	if len(frames) != 1 {
		return nil, fmt.Errorf("minion: reply of %d frames", len(frames))
	}
	if t, _ := proto.PeekType(frames[0]); t == proto.TypeReAuth {
		// The master lost our session (restart, rotation): authenticate again.
		if wait, needed, err := m.sess.HandleReAuth(frames[0]); err == nil {
			if !needed {
				wait = 0
			}
			select {
			case m.reauth <- wait:
			default:
			}
		}
		return nil, ErrNotAccepted
	}
	reply, err := m.sess.OpenReply(frames[0])
	if err != nil {
		return nil, err
	}
	if reply.Status != proto.ReplyOK {
		return reply, fmt.Errorf("minion: master refused %s request: %s", kind, reply.Body)
	}
	return reply, nil
}

func (m *Minion) kickSender() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// sender delivers spooled returns: when a job finishes, after each
// authentication, and every few seconds while any are left.
func (m *Minion) sender(ctx context.Context) {
	retry := time.NewTicker(5 * time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.kick:
		case <-retry.C:
		}
		pending, err := m.spool.Pending()
		if err != nil || len(pending) == 0 {
			continue
		}
		m.sendAll(ctx, pending)
	}
}

// sendAll sends returns with a few requests in flight (the master answers
// each connection's requests in order, so they pipeline).
func (m *Minion) sendAll(ctx context.Context, rs []job.Return) {
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, r := range rs {
		r.ID = m.cfg.ID
		body, err := json.Marshal(r)
		if err != nil {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if _, err := m.call(rctx, job.KindReturn, body); err != nil {
				m.log.Debug("return not delivered yet", slog.String("jid", r.JID), slog.Any("err", err))
				return
			}
			m.spool.Remove(r.JID)
		}()
	}
	wg.Wait()
}

// Running implements module.Runtime.
func (m *Minion) Running() []module.JobInfo { return m.runner.Running() }

// Kill implements module.Runtime.
func (m *Minion) Kill(jid string) error { return m.runner.Kill(jid) }

// RefreshGrains implements module.Runtime: collect again and tell the master.
func (m *Minion) RefreshGrains(ctx context.Context) (map[string]any, error) {
	g, err := grains.Collect(ctx, m.cfg.ID, m.cfg.Grains)
	if err != nil {
		return nil, fmt.Errorf("minion: grains: %w", err)
	}
	m.mu.Lock()
	m.grains = g
	m.mu.Unlock()
	if m.req != nil {
		body, _ := json.Marshal(job.Grains{Grains: g})
		if _, err := m.call(ctx, job.KindGrains, body); err != nil && !errors.Is(err, ErrNotAccepted) {
			return g, err
		}
	}
	return g, nil
}

// RefreshPillar implements module.Runtime: ask the master to compile our
// pillar again.
func (m *Minion) RefreshPillar(ctx context.Context) (map[string]any, error) {
	p, err := m.CompilePillar(ctx, "")
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.pillar = p
	m.mu.Unlock()
	return p, nil
}

// CompilePillar implements module.PillarCompiler: our pillar as the master
// compiles it from pillarenv ("" for every environment), not kept.
func (m *Minion) CompilePillar(ctx context.Context, pillarenv string) (map[string]any, error) {
	body, _ := json.Marshal(job.PillarRequest{Pillarenv: pillarenv})
	reply, err := m.call(ctx, job.KindPillar, body)
	if err != nil {
		return nil, err
	}
	var p map[string]any
	if err := json.Unmarshal(reply.Body, &p); err != nil {
		return nil, fmt.Errorf("minion: pillar: %w", err)
	}
	if p == nil {
		p = map[string]any{}
	}
	return p, nil
}

// Stats are the minion's publish counters (drops by reason).
func (m *Minion) Stats() session.Stats { return m.sess.Stats() }

// Authenticated is closed while the minion holds a session with a master.
func (m *Minion) Authenticated() <-chan struct{} {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.authed
}

// SetJobHook registers f to be called, in the publish reader, for every job
// that matched this minion, before it starts. Benchmarks measure fan-out
// with it. Call it before Run.
func (m *Minion) SetJobHook(f func(job.Job)) { m.onJob = f }
