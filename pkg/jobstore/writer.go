package jobstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// WriterOptions tune a Writer. Zero values take the defaults shown.
type WriterOptions struct {
	MaxBatch      int           // rows per store write (1000)
	MaxAge        time.Duration // longest a row waits for its batch to fill (50ms)
	QueueSize     int           // rows Add may queue before ErrQueueFull (65536)
	SpoolDir      string        // directory of the outage spool (required)
	MaxSpoolBytes int64         // bound of the spool (1 GiB)
	SegmentBytes  int64         // spool segment size (8 MiB)
	WriteTimeout  time.Duration // per store write (10s)
	RetryInterval time.Duration // between health probes while degraded (1s)
	Logger        *slog.Logger
}

func (o *WriterOptions) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxBatch, 1000)
	def(&o.QueueSize, 65536)
	defDur(&o.MaxAge, 50*time.Millisecond)
	defDur(&o.WriteTimeout, 10*time.Second)
	defDur(&o.RetryInterval, time.Second)
	if o.MaxSpoolBytes <= 0 {
		o.MaxSpoolBytes = 1 << 30
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 8 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// WriterStats are the Writer's counters since NewWriter.
type WriterStats struct {
	Stored     uint64 // rows written to the store directly
	Spooled    uint64 // rows written to the spool
	Replayed   uint64 // rows replayed from the spool into the store
	Rejected   uint64 // rows the store refused as invalid (logged, dropped)
	SpoolBytes int64  // spool bytes not yet replayed
	Degraded   bool
}

// Writer is the one batching writer of returns and events on the master's
// hot path. Rows are written in batches when MaxBatch rows are queued or the
// oldest is MaxAge old. When the store fails, batches go to the spool and the
// Writer is Degraded until the spool is replayed, in order, into the store.
// Everything Add accepted is stored or spooled (durable) by the time Flush
// or Close returns. A spooled batch is replayed at least once: returns are
// deduplicated by the store, an event may be stored twice if the master
// dies between storing a replayed batch and marking it done.
type Writer struct {
	store BatchStore
	opts  WriterOptions
	log   *slog.Logger

	in   chan item
	ctl  chan ctlReq
	quit chan struct{}
	done chan struct{}

	mu     sync.RWMutex // guards closed against Add racing Close
	closed bool

	degraded                            atomic.Bool
	stored, spooled, replayed, rejected atomic.Uint64
	spoolBytes                          atomic.Int64
	closeOnce                           sync.Once
	closeErr                            error

	// Owned by the loop goroutine.
	sp         *spool
	ageTimer   *time.Timer
	retryTimer *time.Timer
	batch      []item
	held       []item // a batch neither the store nor the full spool took
	replaying  bool   // store healthy again, spool being replayed
	waiters    []ctlReq
	failures   int
}

type item struct {
	ret  *Return
	ev   *Event
	done func(error)
}

type ctlReq struct {
	sync  bool // wait until stored, not just durable
	reply chan error
}

// NewWriter starts a Writer in front of store. Rows left in SpoolDir by a
// previous run are replayed first.
func NewWriter(store BatchStore, opts WriterOptions) (*Writer, error) {
	opts.defaults()
	if opts.SpoolDir == "" {
		return nil, fmt.Errorf("jobstore: writer: %w: SpoolDir is required", ErrInvalid)
	}
	sp, err := openSpool(opts.SpoolDir, opts.MaxSpoolBytes, opts.SegmentBytes, opts.Logger)
	if err != nil {
		return nil, err
	}
	w := &Writer{
		store: store, opts: opts, log: opts.Logger, sp: sp,
		in: make(chan item, opts.QueueSize), ctl: make(chan ctlReq),
		quit: make(chan struct{}), done: make(chan struct{}),
	}
	if !sp.empty() {
		w.log.Info("jobstore writer: replaying spool left by a previous run", slog.Int64("bytes", sp.pending))
		w.degraded.Store(true)
		w.replaying = true
	}
	w.spoolBytes.Store(sp.pending)
	go w.loop()
	return w, nil
}

// Add queues a return (a zero Received is set to now). It never blocks: ErrQueueFull means the caller must
// not acknowledge the return (the minion will resend). Invalid rows are
// refused with ErrInvalid.
func (w *Writer) Add(r Return) error { return w.AddFunc(r, nil) }

// AddFunc is Add with a callback called once the return is durable (stored,
// or spooled to disk) or lost at Close (with the error); the master
// acknowledges a minion's return from it. done runs on the writer's
// goroutine and must not block.
func (w *Writer) AddFunc(r Return, done func(error)) error {
	if r.JID == "" || r.Minion == "" {
		return fmt.Errorf("jobstore: writer: %w: return without jid or minion", ErrInvalid)
	}
	raw, err := JSONOrNull(r.Return)
	if err != nil {
		return fmt.Errorf("jobstore: writer: return %s/%s: %w", r.JID, r.Minion, err)
	}
	r.Return = raw
	if r.Received.IsZero() {
		r.Received = time.Now()
	}
	return w.enqueue(item{ret: &r, done: done})
}

// AddEvent queues an event (see Add). A zero Time is set to now.
func (w *Writer) AddEvent(e Event) error {
	raw, err := JSONOrNull(e.Data)
	if err != nil {
		return fmt.Errorf("jobstore: writer: event %s: %w", e.Tag, err)
	}
	e.Data = raw
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	return w.enqueue(item{ev: &e})
}

func (w *Writer) enqueue(it item) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	select {
	case w.in <- it:
		return nil
	default:
		return ErrQueueFull
	}
}

// Flush returns once everything added before it is durable: in the store,
// or in the spool while the store is down.
func (w *Writer) Flush(ctx context.Context) error { return w.request(ctx, false) }

// Sync returns once everything added before it is in the store, waiting
// through an outage until ctx ends.
func (w *Writer) Sync(ctx context.Context) error { return w.request(ctx, true) }

func (w *Writer) request(ctx context.Context, sync bool) error {
	req := ctlReq{sync: sync, reply: make(chan error, 1)}
	select {
	case w.ctl <- req:
	case <-w.done:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("jobstore: writer: %w", ctx.Err())
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return fmt.Errorf("jobstore: writer: %w", ctx.Err())
	}
}

// Degraded reports whether the store is failing or the spool still holds
// rows to replay; the API's health endpoint reports it.
func (w *Writer) Degraded() bool { return w.degraded.Load() }

// Stats returns the writer's counters.
func (w *Writer) Stats() WriterStats {
	return WriterStats{
		Stored: w.stored.Load(), Spooled: w.spooled.Load(), Replayed: w.replayed.Load(),
		Rejected: w.rejected.Load(), SpoolBytes: w.spoolBytes.Load(), Degraded: w.degraded.Load(),
	}
}

// Close writes what is queued (to the store, or the spool), stops the
// writer and closes the spool. It does not close the store. It is
// idempotent; the error says what could not be made durable.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.quit)
		<-w.done
	})
	return w.closeErr
}

var errWriterClosed = errors.New("jobstore: writer closed before the row was durable")
