package state

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// RunLock lets one state run at a time on a minion (Salt refuses a second
// state.apply unless queue=True, which waits).
type RunLock struct {
	slot chan struct{}
	mu   sync.Mutex // guards cur
	cur  RunInfo
}

// RunInfo describes the state run holding the lock.
type RunInfo struct {
	JID     string
	Fun     string
	PID     int
	Started time.Time
}

// ErrBusy is returned by TryAcquire when another state run holds the lock.
type ErrBusy struct{ Running RunInfo }

func (e *ErrBusy) Error() string {
	r := e.Running
	return fmt.Sprintf("The function %q is running as PID %d and was started at %s with jid %s",
		r.Fun, r.PID, r.Started.UTC().Format("2006, Jan 02 15:04:05.000000"), r.JID)
}

// NewRunLock returns an unlocked RunLock.
func NewRunLock() *RunLock { return &RunLock{slot: make(chan struct{}, 1)} }

// locks holds one RunLock per minion id, so several minions in one
// process (tests, a multi-minion daemon) do not block each other.
var locks sync.Map // minion id → *RunLock

// LockFor returns the state-run lock of minion id.
func LockFor(id string) *RunLock {
	if l, ok := locks.Load(id); ok {
		return l.(*RunLock)
	}
	l, _ := locks.LoadOrStore(id, NewRunLock())
	return l.(*RunLock)
}

// TryAcquire takes the lock for jid or returns *ErrBusy naming the run
// that holds it.
func (l *RunLock) TryAcquire(jid, fun string) (release func(), err error) {
	select {
	case l.slot <- struct{}{}:
		return l.hold(jid, fun), nil
	default:
		return nil, &ErrBusy{Running: l.Current()}
	}
}

// Acquire waits for the lock (queue=True) until ctx ends.
func (l *RunLock) Acquire(ctx context.Context, jid, fun string) (release func(), err error) {
	select {
	case l.slot <- struct{}{}:
		return l.hold(jid, fun), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("state: waiting for the running state run: %w", ctx.Err())
	}
}

// Current returns the run holding the lock (zero when none).
func (l *RunLock) Current() RunInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

func (l *RunLock) hold(jid, fun string) func() {
	l.mu.Lock()
	l.cur = RunInfo{JID: jid, Fun: fun, PID: os.Getpid(), Started: time.Now()}
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			l.cur = RunInfo{}
			l.mu.Unlock()
			<-l.slot
		})
	}
}
