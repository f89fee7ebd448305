package jobstore

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// spool is the Writer's on-disk backlog: batches that could not be written
// to the store, in append-only segment files named by a growing sequence
// number, one JSON record per line, fsync'd after every append. Records are
// read back oldest first. Only the Writer's loop goroutine uses it, so it has
// no lock.
type spool struct {
	dir      string
	maxBytes int64 // bound on unreplayed bytes
	segBytes int64 // rotate the active segment beyond this size
	log      *slog.Logger

	segs    []int64  // sequence numbers of segments on disk, oldest first
	active  *os.File // segment being appended to (the last of segs), or nil
	actSize int64
	pending int64 // bytes written but not yet acknowledged by the reader

	rd     *bufio.Reader // reader of segs[0]
	rdFile *os.File
	rdOff  int64 // offset in segs[0] of the next unread record
	next   int64 // offset after the record returned by peek, until ack
}

// spoolRecord is one batch in the spool.
type spoolRecord struct {
	Returns []Return `json:"r,omitempty"`
	Events  []Event  `json:"e,omitempty"`
}

const spoolSuffix = ".spool"

func openSpool(dir string, maxBytes, segBytes int64, log *slog.Logger) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("jobstore: spool: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("jobstore: spool: %w", err)
	}
	s := &spool{dir: dir, maxBytes: maxBytes, segBytes: segBytes, log: log}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, spoolSuffix) {
			continue
		}
		seq, err := strconv.ParseInt(strings.TrimSuffix(name, spoolSuffix), 10, 64)
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("jobstore: spool: %w", err)
		}
		s.segs = append(s.segs, seq)
		s.pending += info.Size()
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i] < s.segs[j] })
	return s, nil
}

func (s *spool) path(seq int64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, spoolSuffix))
}

// empty reports whether every record written has been acknowledged.
func (s *spool) empty() bool { return s.pending == 0 }

// append writes one record and fsyncs it. Segments left by a previous run
// are never appended to (their tail may be torn): a new one is started.
func (s *spool) append(rec spoolRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("jobstore: spool: encode: %w", err)
	}
	b = append(b, '\n')
	if s.pending+int64(len(b)) > s.maxBytes {
		return ErrSpoolFull
	}
	if s.active == nil || s.actSize >= s.segBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	if _, err := s.active.Write(b); err != nil {
		return fmt.Errorf("jobstore: spool: write: %w", err)
	}
	if err := s.active.Sync(); err != nil {
		return fmt.Errorf("jobstore: spool: fsync: %w", err)
	}
	s.actSize += int64(len(b))
	s.pending += int64(len(b))
	return nil
}

func (s *spool) rotate() error {
	if s.active != nil {
		if err := s.active.Close(); err != nil {
			return fmt.Errorf("jobstore: spool: close segment: %w", err)
		}
		s.active = nil
	}
	seq := int64(1)
	if n := len(s.segs); n > 0 {
		seq = s.segs[n-1] + 1
	}
	f, err := os.OpenFile(s.path(seq), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("jobstore: spool: %w", err)
	}
	// Make the new file's directory entry durable too.
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	s.segs = append(s.segs, seq)
	s.active, s.actSize = f, 0
	return nil
}

// peek returns the oldest unacknowledged record; ok is false when the spool
// is caught up. Call ack after the record is stored.
func (s *spool) peek() (rec spoolRecord, ok bool, err error) {
	for len(s.segs) > 0 {
		if s.rd == nil {
			f, err := os.Open(s.path(s.segs[0]))
			if err != nil {
				return rec, false, fmt.Errorf("jobstore: spool: %w", err)
			}
			if _, err := f.Seek(s.rdOff, io.SeekStart); err != nil {
				f.Close()
				return rec, false, fmt.Errorf("jobstore: spool: %w", err)
			}
			s.rdFile, s.rd = f, bufio.NewReaderSize(f, 1<<16)
		}
		line, err := s.rd.ReadBytes('\n')
		switch {
		case err == nil:
			if jerr := json.Unmarshal(line, &rec); jerr != nil {
				// Cannot happen for what we wrote; skip rather than block forever.
				s.log.Error("jobstore spool: skipping undecodable record", slog.Int64("segment", s.segs[0]), slog.Any("error", jerr))
				s.consume(int64(len(line)))
				continue
			}
			s.next = int64(len(line))
			return rec, true, nil
		case errors.Is(err, io.EOF):
			if s.isActive() {
				return rec, false, nil // caught up with the writer
			}
			if len(line) > 0 {
				// A torn tail from a crash mid-append: the batch was never acknowledged.
				s.log.Warn("jobstore spool: dropping torn record", slog.Int64("segment", s.segs[0]), slog.Int("bytes", len(line)))
				s.pending -= int64(len(line))
			}
			if err := s.removeHead(); err != nil {
				return rec, false, err
			}
		default:
			return rec, false, fmt.Errorf("jobstore: spool: read: %w", err)
		}
	}
	return rec, false, nil
}

func (s *spool) isActive() bool {
	return s.active != nil && len(s.segs) == 1
}

// ack acknowledges the record returned by the last peek.
func (s *spool) ack() { s.consume(s.next); s.next = 0 }

func (s *spool) consume(n int64) {
	s.rdOff += n
	s.pending -= n
	if s.pending == 0 && s.isActive() {
		// Everything replayed: start over with an empty segment.
		_ = s.removeHead()
	}
}

// removeHead deletes the oldest segment, fully read.
func (s *spool) removeHead() error {
	if s.rdFile != nil {
		s.rdFile.Close()
		s.rdFile, s.rd = nil, nil
	}
	if s.isActive() {
		s.active.Close()
		s.active = nil
	}
	if err := os.Remove(s.path(s.segs[0])); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("jobstore: spool: %w", err)
	}
	s.segs, s.rdOff = s.segs[1:], 0
	return nil
}

func (s *spool) close() error {
	if s.rdFile != nil {
		s.rdFile.Close()
		s.rdFile, s.rd = nil, nil
	}
	if s.active != nil {
		err := s.active.Close()
		s.active = nil
		return err
	}
	return nil
}
