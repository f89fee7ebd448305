package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

var errDown = errors.New("fake: database is down")

// fakeStore is an in-memory BatchStore that can be made to fail.
type fakeStore struct {
	mu      sync.Mutex // guards everything below
	down    bool
	bad     string        // minion whose returns are refused as invalid
	block   chan struct{} // when set, writes wait for it to close
	keys    map[string]bool
	order   []string // "jid/minion" of stored returns, in write order
	events  []string
	batches []int
	wrote   chan int // batch sizes, if non-nil
}

func newFake() *fakeStore { return &fakeStore{keys: map[string]bool{}} }

func (f *fakeStore) setDown(v bool) { f.mu.Lock(); f.down = v; f.mu.Unlock() }

func (f *fakeStore) AddReturns(ctx context.Context, rs []Return) error {
	f.mu.Lock()
	block := f.block
	f.mu.Unlock()
	if block != nil {
		<-block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errDown
	}
	for _, r := range rs {
		if r.Minion == f.bad {
			return fmt.Errorf("fake: %w", ErrInvalid)
		}
	}
	for _, r := range rs {
		k := r.JID + "/" + r.Minion
		if !f.keys[k] {
			f.keys[k] = true
			f.order = append(f.order, k)
		}
	}
	if len(rs) > 0 {
		f.batches = append(f.batches, len(rs))
		if f.wrote != nil {
			f.wrote <- len(rs)
		}
	}
	return nil
}

func (f *fakeStore) AddEvents(ctx context.Context, evs []Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errDown
	}
	for _, e := range evs {
		f.events = append(f.events, e.Tag)
	}
	return nil
}

func (f *fakeStore) Health(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errDown
	}
	return nil
}

func (f *fakeStore) stored() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.order...)
}

func testWriter(t *testing.T, s BatchStore, o WriterOptions) *Writer {
	t.Helper()
	if o.SpoolDir == "" {
		o.SpoolDir = t.TempDir()
	}
	if o.RetryInterval == 0 {
		o.RetryInterval = 5 * time.Millisecond
	}
	w, err := NewWriter(s, o)
	if err != nil {
		t.Fatalf("new writer: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func tctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func rret(i int) Return {
	return Return{JID: fmt.Sprintf("2026112200000000000%d_x", i%7), Minion: fmt.Sprintf("m%05d", i), Success: true,
		Return: json.RawMessage(`{"i":` + fmt.Sprint(i) + `}`), Duration: time.Millisecond, Received: time.Unix(int64(i), 0).UTC()}
}

func keyOf(i int) string { r := rret(i); return r.JID + "/" + r.Minion }

func keys(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, keyOf(i))
	}
	return out
}

func mustAdd(t *testing.T, w *Writer, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := w.Add(rret(i)); err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
	}
}

func TestWriterBatching(t *testing.T) {
	cases := []struct {
		name     string
		maxBatch int
		maxAge   time.Duration
		add      int
		want     []int // batch sizes written before Flush
	}{
		{"by size", 10, time.Hour, 25, []int{10, 10}},
		{"by age", 1000, time.Millisecond, 3, []int{3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.wrote = make(chan int, 100)
			w := testWriter(t, f, WriterOptions{MaxBatch: tc.maxBatch, MaxAge: tc.maxAge})
			mustAdd(t, w, 0, tc.add)
			var got []int
			for range tc.want {
				select {
				case n := <-f.wrote:
					got = append(got, n)
				case <-tctx(t).Done():
					t.Fatalf("batches written: %v, want %v", got, tc.want)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("batches = %v, want %v", got, tc.want)
			}
			if err := w.Flush(tctx(t)); err != nil {
				t.Fatal(err)
			}
			if s := f.stored(); !reflect.DeepEqual(s, keys(0, tc.add)) {
				t.Errorf("stored %d rows, want %d in order", len(s), tc.add)
			}
			if st := w.Stats(); st.Stored != uint64(tc.add) || st.Degraded {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestWriterOutageSpoolsAndReplaysInOrder(t *testing.T) {
	f := newFake()
	dir := t.TempDir()
	w := testWriter(t, f, WriterOptions{MaxBatch: 7, MaxAge: time.Hour, SpoolDir: dir, SegmentBytes: 512})
	mustAdd(t, w, 0, 20)
	if err := w.Flush(tctx(t)); err != nil {
		t.Fatal(err)
	}
	f.setDown(true)
	var mu sync.Mutex
	acked := 0
	for i := 20; i < 120; i++ {
		if err := w.AddFunc(rret(i), func(err error) {
			if err == nil {
				mu.Lock()
				acked++
				mu.Unlock()
			}
		}); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			if err := w.AddEvent(Event{Tag: fmt.Sprintf("ev/%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(tctx(t)); err != nil {
		t.Fatalf("flush during outage: %v", err)
	}
	mu.Lock()
	if acked != 100 {
		t.Errorf("durable callbacks = %d, want 100 (spooled counts as durable)", acked)
	}
	mu.Unlock()
	if !w.Degraded() {
		t.Error("not degraded during outage")
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+spoolSuffix))
	if len(segs) < 2 {
		t.Errorf("spool segments = %v, want several (rotation at 512 bytes)", segs)
	}
	f.setDown(false)
	if err := w.Sync(tctx(t)); err != nil {
		t.Fatalf("sync after outage: %v", err)
	}
	if got := f.stored(); !reflect.DeepEqual(got, keys(0, 120)) {
		t.Errorf("stored after replay: %d rows, order kept: %v", len(got), reflect.DeepEqual(got, keys(0, len(got))))
	}
	if len(f.events) != 10 {
		t.Errorf("events after replay = %v", f.events)
	}
	if w.Degraded() {
		t.Error("still degraded after replay")
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "*"+spoolSuffix)); len(segs) != 0 {
		t.Errorf("spool not emptied: %v", segs)
	}
	if st := w.Stats(); st.Replayed < 100 || st.SpoolBytes != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestWriterReplaysSpoolOfPreviousRun(t *testing.T) {
	dir := t.TempDir()
	down := newFake()
	down.setDown(true)
	w1 := testWriter(t, down, WriterOptions{MaxBatch: 10, SpoolDir: dir})
	mustAdd(t, w1, 0, 35)
	if err := w1.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	// A crash mid-append leaves a torn record at the end of a segment.
	segs, _ := filepath.Glob(filepath.Join(dir, "*"+spoolSuffix))
	if len(segs) == 0 {
		t.Fatal("nothing spooled")
	}
	fh, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteString(`{"r":[{"jid":"torn`)
	fh.Close()

	up := newFake()
	w2 := testWriter(t, up, WriterOptions{SpoolDir: dir})
	if !w2.Degraded() {
		t.Error("writer with a backlog should start degraded")
	}
	mustAdd(t, w2, 35, 40)
	if err := w2.Sync(tctx(t)); err != nil {
		t.Fatal(err)
	}
	if got := up.stored(); !reflect.DeepEqual(got, keys(0, 40)) {
		t.Errorf("stored %v, want the 40 rows in order", got)
	}
}

func TestWriterSpoolFullHoldsRows(t *testing.T) {
	f := newFake()
	f.setDown(true)
	w := testWriter(t, f, WriterOptions{MaxBatch: 5, MaxSpoolBytes: 600, QueueSize: 1000})
	mustAdd(t, w, 0, 30)
	err := w.Flush(tctx(t))
	if !errors.Is(err, ErrSpoolFull) {
		t.Fatalf("flush with full spool: err = %v, want ErrSpoolFull", err)
	}
	f.setDown(false)
	if err := w.Sync(tctx(t)); err != nil {
		t.Fatal(err)
	}
	if got := f.stored(); !reflect.DeepEqual(got, keys(0, 30)) {
		t.Errorf("stored %d rows, want 30 in order", len(got))
	}
}

func TestWriterDropsInvalidRowsOnly(t *testing.T) {
	f := newFake()
	f.bad = "m00003"
	w := testWriter(t, f, WriterOptions{MaxBatch: 10})
	var rejected error
	for i := 0; i < 10; i++ {
		i := i
		if err := w.AddFunc(rret(i), func(err error) {
			if i == 3 {
				rejected = err
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(tctx(t)); err != nil {
		t.Fatal(err)
	}
	want := append(keys(0, 3), keys(4, 10)...)
	if got := f.stored(); !reflect.DeepEqual(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	if !errors.Is(rejected, ErrInvalid) || w.Degraded() || w.Stats().Rejected != 1 {
		t.Errorf("rejected err %v, degraded %v, stats %+v", rejected, w.Degraded(), w.Stats())
	}
}

func TestWriterAdd(t *testing.T) {
	f := newFake()
	f.block = make(chan struct{})
	w := testWriter(t, f, WriterOptions{MaxBatch: 1, QueueSize: 1})
	bad := rret(1)
	bad.Return = json.RawMessage(`{`)
	cases := []struct {
		name string
		r    Return
		want error
	}{
		{"invalid json", bad, ErrInvalid},
		{"no jid", Return{Minion: "a"}, ErrInvalid},
		{"no minion", Return{JID: "j"}, ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := w.Add(tc.r); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// The loop takes row 0 and blocks writing it; row 1 fills the queue
	// once the loop holds row 0, so some later Add must see ErrQueueFull.
	full := false
	for i := 0; i < 10 && !full; i++ {
		err := w.Add(rret(i))
		full = errors.Is(err, ErrQueueFull)
	}
	if !full {
		t.Error("never saw ErrQueueFull with a blocked store and a queue of 1")
	}
	close(f.block)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(rret(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("add after close: err = %v, want ErrClosed", err)
	}
}

func TestGlobRegexp(t *testing.T) {
	cases := []struct{ glob, want string }{
		{"", ""},
		{"salt/job/*/ret/*", `^salt/job/.*/ret/.*$`},
		{"a?c", `^a.c$`},
		{"x[!ab]y", `^x[^ab]y$`},
		{"a.b+[", `^a\.b\+\[$`},
		{"[]a]", `^[\]a]$`},
		{"[!]]x", `^[^\]]x$`},
		{"[a^\\]", `^[a\^\\]$`},
		{"[z-a]", `^\[z-a\]$`},
	}
	for _, tc := range cases {
		t.Run(tc.glob, func(t *testing.T) {
			if got := GlobRegexp(tc.glob); got != tc.want {
				t.Errorf("GlobRegexp(%q) = %q, want %q", tc.glob, got, tc.want)
			}
		})
	}
}

// FuzzGlobRegexp checks that every glob gives a valid expression and that a
// glob without metacharacters matches exactly itself.
func FuzzGlobRegexp(f *testing.F) {
	for _, s := range []string{"salt/job/*/ret/*", "a?c", "[!x]", "[]", "[z-a]", `\`, "x[[]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, glob string) {
		if !utf8.ValidString(glob) {
			return
		}
		re := GlobRegexp(glob)
		if glob == "" {
			return
		}
		rx, err := regexp.Compile(re)
		if err != nil {
			t.Fatalf("GlobRegexp(%q) = %q: %v", glob, re, err)
		}
		if !strings.ContainsAny(glob, "*?[") && !rx.MatchString(glob) {
			t.Errorf("literal glob %q does not match itself with %q", glob, re)
		}
	})
}
