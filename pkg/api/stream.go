package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/events"
)

// DroppedTag is the tag of the event GET /events inserts when the stream
// lost events because its reader was too slow; its data is {"dropped": n},
// the number lost since the previous notice.
const DroppedTag = "brine/api/events/dropped"

// streamWriteTimeout bounds each write to an event stream, so a client that
// stops reading releases its goroutine instead of holding it for good.
const streamWriteTimeout = 30 * time.Second

// events streams bus events as server-sent events: one "data:" line per
// event holding the JSON of types.Event, an increasing "id:", and comment
// lines as heartbeats.
func (s *Server) events(w http.ResponseWriter, r *http.Request, _ *principal) error {
	if n := s.streams.Add(1); n > int64(s.cfg.MaxEventStreams) {
		s.streams.Add(-1)
		return &httpError{status: http.StatusServiceUnavailable, code: types.CodeUnavailable,
			msg: fmt.Sprintf("too many event streams open (%d); retry later", s.cfg.MaxEventStreams)}
	}
	defer s.streams.Add(-1)
	glob := r.URL.Query().Get("tag")
	ctx := r.Context()
	sub := s.cfg.Bus.SubscribeSub(ctx, glob, s.cfg.EventBuffer)
	rc := http.NewResponseController(w)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)

	write := func(s string) error {
		// Per-write deadline instead of the server's WriteTimeout, which
		// would cut every long-lived stream.
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := io.WriteString(w, s); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := write("retry: 3000\n: stream of " + sub.Glob() + "\n\n"); err != nil {
		return nil // client gone before the first byte
	}
	tick := time.NewTicker(s.cfg.Heartbeat)
	defer tick.Stop()
	var id, reported uint64
	// dropNotice tells the client about events lost since the last notice;
	// it goes before the next event, or with the next heartbeat when no
	// event follows.
	dropNotice := func(b *strings.Builder) {
		if d := sub.Dropped(); d > reported {
			id++
			data, _ := json.Marshal(map[string]uint64{"dropped": d - reported})
			reported = d
			writeEvent(b, id, events.Event{Tag: DroppedTag, Data: data, Time: time.Now().UTC()})
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			var b strings.Builder
			dropNotice(&b)
			b.WriteString(": heartbeat " + time.Now().UTC().Format(time.RFC3339) + "\n\n")
			if write(b.String()) != nil {
				return nil
			}
		case ev, ok := <-sub.C:
			if !ok {
				return nil // bus stopped: the master is shutting down
			}
			var b strings.Builder
			dropNotice(&b)
			id++
			writeEvent(&b, id, ev)
			if write(b.String()) != nil {
				return nil
			}
		}
	}
}

func writeEvent(b *strings.Builder, id uint64, ev events.Event) {
	data, err := json.Marshal(types.Event{Tag: ev.Tag, Data: ev.Data, Time: ev.Time})
	if err != nil {
		// Data is valid JSON from the bus; this cannot happen short of a
		// bug, and a stream must not break over one event.
		data, _ = json.Marshal(types.Event{Tag: ev.Tag, Data: json.RawMessage("null"), Time: ev.Time})
	}
	fmt.Fprintf(b, "id: %d\ndata: %s\n\n", id, data)
}

// hook fires brine/hook/<path> with the request's JSON body as data (null
// for an empty body), for chatbots and CI to drive reactors.
func (s *Server) hook(w http.ResponseWriter, r *http.Request, p *principal) error {
	path := r.PathValue("path")
	if err := checkHookPath(path); err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("", "read body: %v", err)
	}
	data := json.RawMessage("null")
	if len(strings.TrimSpace(string(body))) > 0 {
		if !json.Valid(body) {
			return badRequest("", "hook body must be JSON (or empty)")
		}
		data = body
	}
	tag := events.HookTag(path)
	s.cfg.Bus.PublishEvent(events.Event{Tag: tag, Data: data})
	s.log.Info("api: hook fired", slog.String("tag", tag), slog.String("token", p.name), slog.Int("bytes", len(body)))
	writeJSON(w, http.StatusAccepted, types.HookResponse{Tag: tag})
	return nil
}

// checkHookPath keeps hook tags tidy: slash-separated segments of letters,
// digits, '.', '_' and '-', none of them empty, '.' or '..'.
func checkHookPath(path string) error {
	if path == "" {
		return badRequest("path", "hook path is empty: POST /hooks/<path>")
	}
	for _, seg := range strings.Split(path, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return badRequest("path", "hook path %q has an empty, '.' or '..' segment", path)
		}
		for _, c := range seg {
			ok := c == '.' || c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
			if !ok {
				return badRequest("path", "hook path %q: character %q not allowed (letters, digits, . _ - and /)", path, c)
			}
		}
	}
	return nil
}

func (s *Server) health(w http.ResponseWriter, r *http.Request, _ *principal) error {
	h, err := s.cfg.Backend.Health(r.Context())
	if err != nil {
		s.log.Error("api: health check failed", slog.Any("error", err))
		writeJSON(w, http.StatusServiceUnavailable, types.Health{Status: types.HealthDegraded, Store: "unknown: health check failed"})
		return nil
	}
	status := http.StatusOK
	if h.Status != types.HealthOK {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
	return nil
}
