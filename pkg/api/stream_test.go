package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/events"
)

// sseStream reads an event stream line by line in a goroutine, so the test
// can wait for lines with a deadline.
type sseStream struct {
	lines chan string
}

func openStream(t *testing.T, e *env, query string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+Prefix+"/events"+query, nil)
	req.Header.Set("Authorization", "Bearer "+ciSecret) // any valid token may stream
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &sseStream{lines: make(chan string, 4096)}
	go func() {
		defer res.Body.Close()
		defer close(s.lines)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	// The server subscribes before it writes its first line: once we read
	// it, every later Publish reaches this stream.
	if l := s.next(t); !strings.HasPrefix(l, "retry:") {
		t.Fatalf("first line %q", l)
	}
	return s
}

func (s *sseStream) next(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-s.lines:
		if !ok {
			t.Fatal("stream ended")
		}
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no line within 10s")
	}
	return ""
}

// nextEvent skips comments, ids and blank lines up to the next data line.
func (s *sseStream) nextEvent(t *testing.T) types.Event {
	t.Helper()
	for {
		l := s.next(t)
		if data, ok := strings.CutPrefix(l, "data: "); ok {
			var ev types.Event
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatalf("data line %q: %v", data, err)
			}
			return ev
		}
	}
}

func TestEventStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	s := openStream(t, e, "?tag=brine/job/*/ret/*")
	e.bus.Publish(events.JobNewTag("j1"), map[string]any{"fun": "test.ping"}) // filtered out
	e.bus.Publish(events.JobRetTag("j1", "web1"), map[string]any{"retcode": 0})
	ev := s.nextEvent(t)
	if ev.Tag != "brine/job/j1/ret/web1" || string(ev.Data) != `{"retcode":0}` || ev.Time.IsZero() {
		t.Fatalf("event %+v", ev)
	}
}

func TestEventStreamLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxEventStreams = 1 })
	openStream(t, e, "")
	r := e.do(t, t.Context(), "GET", "/events", ciSecret, "")
	if r.status != 503 || r.apiError(t).Code != types.CodeUnavailable {
		t.Fatalf("second stream: %d %s", r.status, r.body)
	}
}

func TestEventStreamHeartbeat(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Heartbeat = time.Millisecond })
	s := openStream(t, e, "")
	for {
		if l := s.next(t); strings.HasPrefix(l, ": heartbeat") {
			return
		}
	}
}

// A reader slower than the publisher loses events, and the stream says how
// many. The notice travels with the next delivered event, so the test keeps
// publishing end markers (which may be dropped too) until one arrives: by
// then every lost event has been reported.
func TestEventStreamReportsDrops(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.EventBuffer = 1 })
	s := openStream(t, e, "?tag=brine/t/*")
	const n = 2000
	for i := range n {
		e.bus.Publish("brine/t/x", i)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				e.bus.Publish("brine/t/end", nil)
			}
		}
	}()
	var got, dropped int
	for {
		ev := s.nextEvent(t)
		switch ev.Tag {
		case DroppedTag:
			var d struct{ Dropped int }
			if err := json.Unmarshal(ev.Data, &d); err != nil || d.Dropped <= 0 {
				t.Fatalf("dropped event %s", ev.Data)
			}
			dropped += d.Dropped
		case "brine/t/x":
			got++
		case "brine/t/end":
			// Dropped end markers count too, so >= rather than ==.
			if got+dropped < n || got == 0 || got > n {
				t.Fatalf("delivered %d + reported dropped %d < published %d", got, dropped, n)
			}
			if dropped == 0 {
				t.Fatal("a 1-event buffer lost nothing of 2000: drops not reported")
			}
			return
		}
	}
}

func TestHooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	sub := e.bus.Subscribe(t.Context(), "brine/hook/*", 16)
	cases := []struct {
		name, path, body string
		status           int
		tag, data        string
	}{
		{"json body", "/hooks/ci/deploy", `{"ref":"main","sha":"abc"}`, 202, "brine/hook/ci/deploy", `{"ref":"main","sha":"abc"}`},
		{"empty body", "/hooks/chat.ops", "", 202, "brine/hook/chat.ops", "null"},
		{"invalid json", "/hooks/ci", "{nope", 400, "", ""},
		{"bad char", "/hooks/a%20b", "{}", 400, "", ""},
		{"dot segment", "/hooks/a/b%2F..", "{}", 400, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, t.Context(), "POST", c.path, ciSecret, c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if c.status != 202 {
				if ae := r.apiError(t); ae.Code != types.CodeBadRequest {
					t.Fatalf("error %+v", ae)
				}
				return
			}
			var hr types.HookResponse
			if err := json.Unmarshal(r.body, &hr); err != nil || hr.Tag != c.tag {
				t.Fatalf("response %s", r.body)
			}
			select {
			case ev := <-sub:
				if ev.Tag != c.tag || string(ev.Data) != c.data {
					t.Fatalf("event %s %s", ev.Tag, ev.Data)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("hook fired no event")
			}
		})
	}
}
