// Package master wires the master daemon: the transport hub and the auth
// authority, the key store, the job store and its batching writer, the event
// bus, job tracking and the HTTP API. Its promise: a job completes the moment
// every expected minion has answered, or at its timeout with the missing
// minions recorded; a return acknowledged to a minion is durable.
package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brine-project/brine/pkg/api"
	"github.com/brine-project/brine/pkg/crypto"
	"github.com/brine-project/brine/pkg/events"
	"github.com/brine-project/brine/pkg/fileserver"
	"github.com/brine-project/brine/pkg/jid"
	"github.com/brine-project/brine/pkg/jobstore"
	"github.com/brine-project/brine/pkg/jobstore/dbopen"
	"github.com/brine-project/brine/pkg/keys"
	"github.com/brine-project/brine/pkg/pillar"
	"github.com/brine-project/brine/pkg/proto"
	"github.com/brine-project/brine/pkg/session"
	"github.com/brine-project/brine/pkg/target"
	"github.com/brine-project/brine/pkg/transport"
)

// Topics on the publish port: every minion subscribes to TopicAll and to its
// own MinionTopic.
const TopicAll = "all"

// MinionTopic is the publish topic only minion id subscribes to.
func MinionTopic(id string) string { return "m:" + id }

// Master is one running master. Create it with New, then Run it.
type Master struct {
	cfg     Config
	log     *slog.Logger
	kp      *crypto.KeyPair
	keys    *keys.FileStore
	auth    *session.Authority
	hub     *transport.Hub
	store   jobstore.Store
	writer  *jobstore.Writer
	bus     *events.Bus
	jids    *jid.Generator
	matcher *target.Matcher
	jobs    *tracker
	files   *fileserver.Server
	pillar  *pillar.Compiler
	// fileBytes counts file content served to minions (hashes excluded).
	fileBytes atomic.Uint64
	cache     *minionCache
	apiSrv    *http.Server
	apiLn     net.Listener
	rotateMu  sync.Mutex    // one rotation at a time
	quit      chan struct{} // closed when the master stops
	ready     chan struct{} // closed once every port serves; requests wait for it

	recorder sync.WaitGroup // the event recorder, done before the writer closes
	stopOnce sync.Once
}

// New prepares a master from cfg (already defaulted and validated): it opens
// keys and the job store but listens on nothing until Run.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Master, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("master: data_dir: %w", err)
	}
	m := &Master{cfg: cfg, log: log, bus: events.New(log), jids: jid.NewGenerator(cfg.ID),
		matcher: &target.Matcher{Nodegroups: cfg.Nodegroups}, quit: make(chan struct{}), ready: make(chan struct{})}
	var err error
	if m.kp, err = crypto.LoadOrCreate(cfg.PKIDir, "master"); err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	m.keys, err = keys.NewFileStore(cfg.PKIDir, keys.Options{AutoAccept: cfg.AutoAccept, OnEvent: m.onKeyEvent, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	if m.store, err = dbopen.Open(ctx, cfg.Database, cfg.DataDir, log); err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	m.writer, err = jobstore.NewWriter(m.store, jobstore.WriterOptions{SpoolDir: filepath.Join(cfg.DataDir, "spool"), Logger: log})
	if err != nil {
		m.store.Close()
		return nil, fmt.Errorf("master: %w", err)
	}
	remotes := make([]fileserver.GitRemote, 0, len(cfg.GitFS))
	for _, u := range cfg.GitFS {
		remotes = append(remotes, fileserver.GitRemote{URL: u})
	}
	// A gitfs remote whose first fetch failed is kept and retried: the
	// server is usable whenever it is not nil.
	m.files, err = fileserver.New(fileserver.Config{FileRoots: cfg.FileRoots, GitFS: remotes,
		CacheDir: filepath.Join(cfg.DataDir, "gitfs"), Logger: log})
	if m.files == nil {
		m.closeStores()
		return nil, fmt.Errorf("master: file server: %w", err)
	} else if err != nil {
		log.Warn("file server: some gitfs remotes are not available yet", slog.Any("err", err))
	}
	m.pillar = &pillar.Compiler{Roots: cfg.PillarRoots, Matcher: m.matcher, Logger: log,
		Opts: map[string]any{"id": cfg.ID, "file_roots": cfg.FileRoots, "pillar_roots": cfg.PillarRoots}}
	m.cache = newMinionCache(m)
	m.jobs = newTracker(m)
	m.hub, err = transport.NewHub(transport.HubConfig{
		PublishAddr: cfg.PublishAddr, RequestAddr: cfg.RequestAddr,
		Handler: transport.HandlerFunc(m.handleRequest), QueueSize: cfg.SendQueue,
		WriteTimeout: cfg.WriteTimeout, Logger: log,
	})
	if err != nil {
		m.closeStores()
		return nil, fmt.Errorf("master: %w", err)
	}
	return m, nil
}

// Run serves until ctx is done, then stops gracefully.
func (m *Master) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := m.hub.Start(ctx); err != nil {
		m.closeStores()
		return fmt.Errorf("master: %w", err)
	}
	port := 0
	if a, ok := m.hub.PublishAddr().(*net.TCPAddr); ok {
		port = a.Port
	}
	var err error
	m.auth, err = session.NewAuthority(session.AuthorityConfig{Keys: m.kp, Store: m.keys, PublishPort: port, Logger: m.log})
	if err != nil {
		m.hub.Stop()
		m.closeStores()
		return fmt.Errorf("master: %w", err)
	}
	if err := m.startAPI(); err != nil {
		m.hub.Stop()
		m.closeStores()
		return err
	}
	close(m.ready)
	if err := m.cache.load(ctx); err != nil {
		m.log.Warn("minion cache not loaded", slog.Any("err", err))
	}
	m.jobs.recover(ctx)
	m.recorder.Add(1)
	go func() { defer m.recorder.Done(); m.recordEvents(ctx) }()
	go m.keys.Watch(ctx, time.Second)
	go m.files.Run(ctx, m.cfg.GitFSUpdateInterval)
	go m.loop(ctx)
	m.log.Info("master started", slog.String("id", m.cfg.ID),
		slog.String("publish", m.hub.PublishAddr().String()), slog.String("request", m.hub.RequestAddr().String()),
		slog.String("api", m.apiLn.Addr().String()), slog.String("finger", crypto.Fingerprint(m.kp.Public.Sign)))
	<-ctx.Done()
	m.stop()
	return nil
}

// loop does the master's periodic work: session key rotation, heartbeats,
// retention.
func (m *Master) loop(ctx context.Context) {
	heartbeat := time.NewTicker(5 * time.Second)
	defer heartbeat.Stop()
	var rotateC <-chan time.Time
	if m.cfg.RotateInterval > 0 {
		t := time.NewTicker(m.cfg.RotateInterval)
		defer t.Stop()
		rotateC = t.C
	}
	var seq uint64
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	m.prune(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-rotateC:
			m.rotateKey("interval")
		case <-heartbeat.C:
			// Minions drop a publish connection that stays silent (a
			// half-open TCP connection looks the same); the beat keeps
			// quiet ones alive. It carries nothing a minion acts on.
			seq++
			m.hub.Publish([]byte(TopicAll), proto.Encode(&proto.Heartbeat{Timestamp: time.Now().UnixNano(), Seq: seq}))
			m.cache.heartbeat(ctx)
		case <-prune.C:
			m.prune(ctx)
		}
	}
}

func (m *Master) prune(ctx context.Context) {
	if m.cfg.KeepJobs <= 0 {
		return
	}
	if err := m.store.Prune(ctx, time.Now(), m.cfg.KeepJobs); err != nil {
		m.log.Warn("prune failed", slog.Any("err", err))
	}
}

func (m *Master) onKeyEvent(e keys.Event) {
	if m.cache != nil {
		m.cache.keyChanged(e)
	}
	action := "delete"
	if e.To != "" {
		action = string(e.To)
	}
	m.bus.Publish(events.KeyTag(action, e.ID), map[string]any{"id": e.ID, "from": string(e.From), "to": string(e.To)})
	// A key that stops being accepted loses the session key before the
	// change is reported done: no publish after it is readable with the old.
	if e.From == keys.Accepted && e.To != keys.Accepted && m.isReady() {
		m.rotateKey("key " + e.ID + " " + e.Tag())
	}
}

// rotateKey makes a new publish session key, hands it to every minion that
// is still accepted, and tells the rest to authenticate again.
func (m *Master) rotateKey(reason string) {
	m.rotateMu.Lock()
	defer m.rotateMu.Unlock()
	notice := m.auth.Rotate(reason)
	// Minions still accepted get the new key directly; the notice then only
	// makes the ones it did not reach authenticate again.
	for id, update := range m.auth.SessionKeyUpdates() {
		m.hub.SendTo(MinionTopic(id), update)
	}
	m.hub.Publish([]byte(TopicAll), notice)
}

func (m *Master) startAPI() error {
	token := ""
	if len(m.cfg.APITokens) == 0 {
		var err error
		if token, err = api.EnsureAdminToken(m.cfg.DataDir); err != nil {
			return fmt.Errorf("master: %w", err)
		}
	}
	srv, err := api.New(api.Config{Backend: (*backend)(m), Tokens: m.cfg.APITokens, AdminToken: token, Logger: m.log, Bus: m.bus})
	if err != nil {
		return fmt.Errorf("master: %w", err)
	}
	ln, err := net.Listen("tcp", m.cfg.APIAddr)
	if err != nil {
		return fmt.Errorf("master: api_addr: %w", err)
	}
	m.apiLn = ln
	m.apiSrv = &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := m.apiSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("api server stopped", slog.Any("err", err))
		}
	}()
	return nil
}

// Ready is closed once the master listens on every port and serves
// requests; the address accessors below may be called from then on.
func (m *Master) Ready() <-chan struct{} { return m.ready }

// APIAddr is the address the API listens on (tests bind port 0).
func (m *Master) APIAddr() string { return m.apiLn.Addr().String() }

// RequestAddr is the bound request port address.
func (m *Master) RequestAddr() string { return m.hub.RequestAddr().String() }

// PublishPort is the bound publish port.
func (m *Master) PublishPort() string {
	_, p, _ := net.SplitHostPort(m.hub.PublishAddr().String())
	return p
}

// Keys is the master's key store.
func (m *Master) Keys() keys.Store { return m.keys }

// Hub is the master's transport (tests and benchmarks wait on it).
func (m *Master) Hub() *transport.Hub { return m.hub }

func (m *Master) stop() {
	m.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if m.apiSrv != nil {
			_ = m.apiSrv.Shutdown(ctx)
		}
		m.hub.Shutdown(ctx)
		close(m.quit)
		m.jobs.stop()
		m.bus.Stop()
		m.recorder.Wait()
		m.closeStores()
		m.log.Info("master stopped")
	})
}

func (m *Master) closeStores() {
	if m.writer != nil {
		if err := m.writer.Close(); err != nil {
			m.log.Error("job writer closed with loss", slog.Any("err", err))
		}
	}
	if m.store != nil {
		m.store.Close()
	}
}

func sortStrings(s []string) { sort.Strings(s) }

func (m *Master) jobsDone() <-chan struct{} { return m.quit }

func (m *Master) isReady() bool {
	select {
	case <-m.ready:
		return true
	default:
		return false
	}
}

// recordEvents writes the bus's events (jobs, keys, auth, hooks) to the job
// store's history through the batching writer. Return events are left out:
// the returns table already holds each of them, and writing every return
// twice would halve the writer's throughput on the hottest path.
func (m *Master) recordEvents(ctx context.Context) {
	sub := m.bus.SubscribeSub(ctx, "*", 65536)
	for ev := range sub.C {
		if events.Match("brine/job/*/ret/*", ev.Tag) {
			continue
		}
		err := m.writer.AddEvent(jobstore.Event{Tag: ev.Tag, Data: ev.Data, Time: ev.Time, Master: m.cfg.ID})
		if err != nil {
			m.log.Warn("event not recorded", slog.String("tag", ev.Tag), slog.Any("err", err))
		}
	}
	if n := sub.Dropped(); n > 0 {
		m.log.Warn("events not recorded: the recorder fell behind", slog.Uint64("dropped", n))
	}
}
