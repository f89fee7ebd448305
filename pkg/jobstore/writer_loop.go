package jobstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// loop owns the batch, the spool and the outage state. While replaying it
// interleaves one spool record with the rows that arrive meanwhile (which
// go to the spool behind the backlog, so order is kept).
func (w *Writer) loop() {
	defer close(w.done)
	age := time.NewTimer(time.Hour)
	age.Stop()
	w.ageTimer = age
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	w.retryTimer = retry
	if w.replaying {
		// Spool from a previous run: probe first, replay when healthy.
		w.replaying = false
		w.armRetry(0)
	}
	for {
		in := w.in
		if w.held != nil {
			in = nil // the spool is full: stop taking rows until the store is back
		}
		if w.replaying {
			select {
			case it := <-in:
				w.take(it)
				continue
			case req := <-w.ctl:
				w.control(req)
				continue
			case <-w.quit:
				w.shutdown()
				return
			default:
			}
			w.replayStep()
			continue
		}
		select {
		case it := <-in:
			w.take(it)
		case <-age.C:
			w.flushBatch()
		case req := <-w.ctl:
			w.control(req)
		case <-retry.C:
			w.probe()
		case <-w.quit:
			w.shutdown()
			return
		}
	}
}

func (w *Writer) take(it item) {
	w.batch = append(w.batch, it)
	if len(w.batch) == 1 {
		w.ageTimer.Reset(w.opts.MaxAge)
	}
	if len(w.batch) >= w.opts.MaxBatch {
		w.flushBatch()
	}
}

func (w *Writer) flushBatch() {
	w.ageTimer.Stop()
	b := w.batch
	w.batch = nil
	if len(b) == 0 {
		return
	}
	if w.degraded.Load() {
		w.spoolItems(b) // behind the backlog, to keep order
		return
	}
	rest, err := w.storeItems(b, &w.stored)
	if err == nil {
		return
	}
	w.fail(err)
	w.spoolItems(rest)
}

// storeItems writes b to the store. A batch refused as invalid is retried
// row by row so one bad row cannot block the others; the rows that could
// not be written because of another error are returned.
func (w *Writer) storeItems(b []item, count *atomic.Uint64) ([]item, error) {
	err := w.write(b)
	if err == nil {
		count.Add(uint64(len(b)))
		finish(b, nil)
		return nil, nil
	}
	if !errors.Is(err, ErrInvalid) {
		return b, err
	}
	var rest []item
	var lastErr error
	for i, it := range b {
		err := w.write(b[i : i+1])
		switch {
		case err == nil:
			count.Add(1)
			finish(b[i:i+1], nil)
		case errors.Is(err, ErrInvalid):
			w.rejected.Add(1)
			w.log.Error("jobstore writer: store refused a row, dropped", slog.String("jid", it.jid()), slog.Any("error", err))
			finish(b[i:i+1], err)
		default:
			rest, lastErr = append(rest, it), err
		}
	}
	return rest, lastErr
}

func (it item) jid() string {
	if it.ret != nil {
		return it.ret.JID
	}
	return it.ev.Tag
}

func (w *Writer) write(b []item) error {
	var rets []Return
	var evs []Event
	for _, it := range b {
		if it.ret != nil {
			rets = append(rets, *it.ret)
		} else {
			evs = append(evs, *it.ev)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.opts.WriteTimeout)
	defer cancel()
	if err := w.store.AddReturns(ctx, rets); err != nil {
		return err
	}
	return w.store.AddEvents(ctx, evs)
}

func finish(b []item, err error) {
	for _, it := range b {
		if it.done != nil {
			it.done(err)
		}
	}
}

// fail enters (or stays in) degraded mode after a store error.
func (w *Writer) fail(err error) {
	w.failures++
	if !w.degraded.Swap(true) {
		w.log.Warn("jobstore writer: store unavailable, spooling to disk", slog.String("spool", w.opts.SpoolDir), slog.Any("error", err))
	} else if w.failures%30 == 0 {
		w.log.Warn("jobstore writer: store still unavailable", slog.Int("attempts", w.failures), slog.Any("error", err))
	}
	w.replaying = false
	w.armRetry(w.opts.RetryInterval)
}

func (w *Writer) armRetry(d time.Duration) { w.retryTimer.Reset(d) }

func (w *Writer) spoolItems(b []item) {
	if len(b) == 0 {
		return
	}
	if w.held != nil {
		w.held = append(w.held, b...)
		return
	}
	var rec spoolRecord
	for _, it := range b {
		if it.ret != nil {
			rec.Returns = append(rec.Returns, *it.ret)
		} else {
			rec.Events = append(rec.Events, *it.ev)
		}
	}
	if err := w.sp.append(rec); err != nil {
		// Keep the rows in memory and stop taking more: the callers get
		// ErrQueueFull and keep them (minions resend).
		w.log.Error("jobstore writer: cannot spool, holding rows in memory", slog.Int("rows", len(b)), slog.Any("error", err))
		w.held = b
		return
	}
	w.spooled.Add(uint64(len(b)))
	w.spoolBytes.Store(w.sp.pending)
	finish(b, nil)
}

// probe checks the store's health while degraded and starts the replay.
func (w *Writer) probe() {
	ctx, cancel := context.WithTimeout(context.Background(), w.opts.WriteTimeout)
	err := w.store.Health(ctx)
	cancel()
	if err != nil {
		w.fail(err)
		return
	}
	w.log.Info("jobstore writer: store reachable, replaying spool", slog.Int64("bytes", w.sp.pending))
	w.replaying = true
}

// replayStep writes one spooled record to the store, or, once the spool is
// caught up, the held rows, and then leaves degraded mode.
func (w *Writer) replayStep() {
	rec, ok, err := w.sp.peek()
	if err != nil {
		w.log.Error("jobstore writer: reading spool", slog.Any("error", err))
		w.fail(err)
		return
	}
	if !ok {
		if w.held != nil {
			rest, err := w.storeItems(w.held, &w.stored)
			if err != nil {
				w.held = rest
				w.fail(err)
				return
			}
			w.held = nil
		}
		w.replaying, w.failures = false, 0
		w.degraded.Store(false)
		w.spoolBytes.Store(0)
		w.log.Info("jobstore writer: spool replayed, store healthy")
		// Rows queued behind the held ones go straight to the store now.
		w.drain()
		w.flushBatch()
		if w.degraded.Load() {
			return // failed again: the waiters keep waiting
		}
		for _, req := range w.waiters {
			req.reply <- nil
		}
		w.waiters = nil
		return
	}
	b := make([]item, 0, len(rec.Returns)+len(rec.Events))
	for i := range rec.Returns {
		b = append(b, item{ret: &rec.Returns[i]})
	}
	for i := range rec.Events {
		b = append(b, item{ev: &rec.Events[i]})
	}
	if _, err := w.storeItems(b, &w.replayed); err != nil {
		// The record stays unacknowledged and is replayed again later:
		// harmless for returns, whose duplicates are ignored.
		w.fail(err)
		return
	}
	w.sp.ack()
	w.spoolBytes.Store(w.sp.pending)
}

func (w *Writer) control(req ctlReq) {
	// Rows added before the request may still be in the channel (select
	// picks among ready cases at random): take them first.
	w.drain()
	w.flushBatch()
	switch {
	case req.sync && w.degraded.Load():
		w.waiters = append(w.waiters, req)
	case w.held != nil:
		req.reply <- fmt.Errorf("jobstore: writer: %d rows held in memory: %w", len(w.held), ErrSpoolFull)
	default:
		req.reply <- nil
	}
}

// drain takes every row already queued (unless rows are held).
func (w *Writer) drain() {
	for w.held == nil {
		select {
		case it := <-w.in:
			w.take(it)
		default:
			return
		}
	}
}

func (w *Writer) shutdown() {
	w.drain()
	w.flushBatch()
	if n := len(w.held); n > 0 {
		finish(w.held, errWriterClosed)
		w.closeErr = fmt.Errorf("jobstore: writer: %d rows lost at close: %w", n, ErrSpoolFull)
		w.held = nil
	}
	for _, req := range w.waiters {
		req.reply <- ErrClosed
	}
	w.waiters = nil
	if err := w.sp.close(); err != nil && w.closeErr == nil {
		w.closeErr = fmt.Errorf("jobstore: writer: close spool: %w", err)
	}
}
