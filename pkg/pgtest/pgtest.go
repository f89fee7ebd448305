// Package pgtest gives tests a real PostgreSQL server without any setup:
// when BRINE_TEST_DATABASE_URL is set it is used; otherwise a throwaway
// cluster is created with initdb in a temporary directory and run with
// postgres from the installed server binaries (/usr/lib/postgresql/*/bin,
// then PATH) on a random free port, as an unprivileged user when the tests
// run as root, with durability switched off for speed. Tests never skip for
// lack of a database: they fail, saying why.
//
// One server per test binary:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//	func TestX(t *testing.T) { url := pgtest.SchemaURL(t) ... }
//
// SchemaURL gives each test its own schema (dropped at the end) through the
// URL's search_path. A test that must stop and restart the server (outage
// tests) starts its own with Start.
package pgtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable that points the tests at an existing server.
const EnvURL = "BRINE_TEST_DATABASE_URL"

// Server is a throwaway PostgreSQL cluster owned by this process.
type Server struct {
	binDir  string
	dir     string // temporary directory holding data/ and sock/
	port    int
	cred    *syscall.Credential // nil when not root
	ownerID [2]int              // uid, gid owning dir (-1 when not root)

	mu      sync.Mutex // guards cmd, exited and logTail
	cmd     *exec.Cmd
	exited  chan struct{}
	logTail []string
}

// NewServer creates and starts a cluster. Destroy stops it and removes its
// files.
func NewServer() (*Server, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	s := &Server{binDir: bin, ownerID: [2]int{-1, -1}}
	if os.Geteuid() == 0 {
		uid, gid, err := unprivilegedUser()
		if err != nil {
			return nil, err
		}
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		s.ownerID = [2]int{uid, gid}
	}
	if s.dir, err = os.MkdirTemp(tempBase(s.cred != nil), "brine-pgtest-"); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := s.initdb(); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}
	if err := s.Start(); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}
	return s, nil
}

// Start starts a server of its own for one test and destroys it when the
// test ends. Use it only to stop and restart the server; otherwise use
// SchemaURL.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := NewServer()
	if err != nil {
		tb.Fatalf("pgtest: cannot start PostgreSQL (set %s to use an existing server): %v", EnvURL, err)
	}
	tb.Cleanup(func() {
		if err := s.Destroy(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return s
}

// URL returns the server's connection URL (superuser, database postgres).
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

func findBinDir() (string, error) {
	if d := os.Getenv("BRINE_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Highest major version first.
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("pgtest: PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin or PATH; install postgresql (deploy/test-deps.sh) or set " + EnvURL)
}

// unprivilegedUser returns the uid/gid to run PostgreSQL as when we are
// root (it refuses to run as root): brine-test, created if missing, else
// nobody.
func unprivilegedUser() (int, int, error) {
	u, err := user.Lookup("brine-test")
	if err != nil {
		if out, aerr := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "brine-test").CombinedOutput(); aerr == nil {
			u, err = user.Lookup("brine-test")
		} else if !strings.Contains(string(out), "already exists") {
			u, err = user.Lookup("nobody")
		} else {
			u, err = user.Lookup("brine-test") // created concurrently by another test binary
		}
	}
	if err != nil {
		return 0, 0, fmt.Errorf("pgtest: no unprivileged user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid, nil
}

// tempBase is where the cluster's directory goes: the usual temporary
// directory, unless we switch users and the other user could not reach it
// (TMPDIR under /root, say), then /tmp.
func tempBase(switchUser bool) string {
	d := os.TempDir()
	if !switchUser {
		return d
	}
	for p := d; p != "/" && p != "."; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
	}
	return d
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) sockDir() string { return filepath.Join(s.dir, "sock") }

func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.binDir, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	return cmd
}

func (s *Server) chown(path string) error {
	if s.ownerID[0] < 0 {
		return nil
	}
	if err := os.Chown(path, s.ownerID[0], s.ownerID[1]); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}

func (s *Server) initdb() error {
	if err := os.Chmod(s.dir, 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := s.chown(s.dir); err != nil {
		return err
	}
	if err := os.Mkdir(s.sockDir(), 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := s.chown(s.sockDir()); err != nil {
		return err
	}
	cmd := s.command("initdb", "-D", s.dataDir(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	return nil
}

// Start starts the server (again, after Stop) and returns once it accepts
// connections. It keeps its port, so URL stays valid, unless another
// process took the port meanwhile: then a new one is picked.
func (s *Server) Start() error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if s.port == 0 || attempt > 0 {
			if s.port, err = freePort(); err != nil {
				return err
			}
		}
		if err = s.start(); err == nil {
			return nil
		}
		if !strings.Contains(err.Error(), "could not bind") && !strings.Contains(err.Error(), "could not create any TCP/IP sockets") {
			return err
		}
	}
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start() error {
	cmd := s.command("postgres", "-D", s.dataDir(), "-p", strconv.Itoa(s.port), "-k", s.sockDir(),
		"-c", "listen_addresses=127.0.0.1",
		// Throwaway data: durability off for speed.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=128MB", "-c", "max_wal_size=2GB",
		"-c", "checkpoint_timeout=30min", "-c", "logging_collector=off")
	// If the test binary dies without stopping us, the postmaster gets
	// SIGQUIT (immediate shutdown) so no server outlives the tests.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	ready := make(chan struct{})
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited, s.logTail = cmd, exited, nil
	s.mu.Unlock()
	go s.readLog(bufio.NewScanner(stderr), ready)
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case <-ready:
		return nil
	case <-exited:
		return fmt.Errorf("pgtest: postgres exited during start:\n%s", s.tail())
	case <-time.After(60 * time.Second):
		s.signal(syscall.SIGQUIT)
		<-exited
		return fmt.Errorf("pgtest: postgres not ready after 60s:\n%s", s.tail())
	}
}

// readLog keeps the last lines of the server's log (for error messages)
// and reports readiness, which the postmaster logs once.
func (s *Server) readLog(sc *bufio.Scanner, ready chan struct{}) {
	signalled := false
	for sc.Scan() {
		line := sc.Text()
		s.mu.Lock()
		s.logTail = append(s.logTail, line)
		if len(s.logTail) > 50 {
			s.logTail = s.logTail[1:]
		}
		s.mu.Unlock()
		if !signalled && strings.Contains(line, "database system is ready to accept connections") {
			signalled = true
			close(ready)
		}
	}
}

func (s *Server) tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.logTail, "\n")
}

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// Stop shuts the server down (fast shutdown: clients are disconnected) and
// waits for it to exit. Stopping a stopped server is a no-op.
func (s *Server) Stop() error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
		return nil
	case <-time.After(30 * time.Second):
	}
	_ = cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-exited:
		return errors.New("pgtest: postgres ignored fast shutdown; sent SIGQUIT")
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return errors.New("pgtest: postgres killed")
	}
}

// Restart stops and starts the server.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start()
}

// Destroy stops the server and removes its files.
func (s *Server) Destroy() error {
	err := s.Stop()
	return errors.Join(err, os.RemoveAll(s.dir))
}

var (
	sharedOnce sync.Once
	sharedSrv  *Server
	sharedURL  string
	sharedErr  error
)

// SharedURL returns the URL of the test binary's server: BRINE_TEST_DATABASE_URL
// if set, else a cluster started on first use and stopped by Main.
func SharedURL(tb testing.TB) string {
	tb.Helper()
	sharedOnce.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			sharedURL = u
			return
		}
		sharedSrv, sharedErr = NewServer()
		if sharedErr == nil {
			sharedURL = sharedSrv.URL()
		}
	})
	if sharedErr != nil {
		tb.Fatalf("pgtest: cannot start PostgreSQL (set %s to use an existing server): %v", EnvURL, sharedErr)
	}
	return sharedURL
}

// Main runs the tests, then the teardown functions (e.g. dropping data kept
// across benchmark runs), then stops the shared server; call it from
// TestMain.
func Main(m *testing.M, teardown ...func()) {
	code := m.Run()
	for _, f := range teardown {
		f()
	}
	if sharedSrv != nil {
		if err := sharedSrv.Destroy(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// NewSchema creates a uniquely named schema on the server at dbURL and drops
// it (with everything in it) when the test ends. It returns the schema name.
func NewSchema(tb testing.TB, dbURL string) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + sanitize(tb.Name()) + "_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			tb.Errorf("pgtest: drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	return name
}

// SchemaURL returns a URL of the shared server whose search_path is a new
// schema of the test's own (see NewSchema): what a test gives the master's
// `database` setting.
func SchemaURL(tb testing.TB) string {
	tb.Helper()
	base := SharedURL(tb)
	return WithSearchPath(tb, base, NewSchema(tb, base))
}

// WithSearchPath returns dbURL with its search_path set to schema.
func WithSearchPath(tb testing.TB, dbURL, schema string) string {
	tb.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		tb.Fatalf("pgtest: parse %s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// sanitize keeps a schema name short and of safe characters.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}
