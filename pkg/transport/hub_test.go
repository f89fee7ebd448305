package transport

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

// testLogger logs to stderr only with -v, so failures come with context.
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).
		With(slog.String("test", t.Name()))
}

// echoHandler replies with the request's frames prefixed by "echo".
var echoHandler = HandlerFunc(func(_ context.Context, _ *Peer, frames [][]byte) ([][]byte, error) {
	return append([][]byte{[]byte("echo")}, frames...), nil
})

func startHub(t testing.TB, cfg HubConfig) *Hub {
	t.Helper()
	if cfg.PublishAddr == "" {
		cfg.PublishAddr = "127.0.0.1:0"
	}
	if cfg.RequestAddr == "" {
		cfg.RequestAddr = "127.0.0.1:0"
	}
	if cfg.Handler == nil {
		cfg.Handler = echoHandler
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	return h
}

// deadline is the context every wait in these tests is bounded by.
func deadline(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// inbox collects what a subscriber receives and lets a test wait for it.
type inbox struct {
	mu   sync.Mutex // guards msgs
	msgs [][][]byte
	ch   chan struct{} // signalled (non-blocking) on every message
}

func newInbox() *inbox { return &inbox{ch: make(chan struct{}, 1)} }

func (in *inbox) handle(frames [][]byte) {
	in.mu.Lock()
	in.msgs = append(in.msgs, frames)
	in.mu.Unlock()
	select {
	case in.ch <- struct{}{}:
	default:
	}
}

// waitFor waits until a message whose first frame is topic has arrived and
// returns everything received so far.
func (in *inbox) waitFor(ctx context.Context, topic string) ([][][]byte, error) {
	for {
		in.mu.Lock()
		msgs := append([][][]byte(nil), in.msgs...)
		in.mu.Unlock()
		for _, m := range msgs {
			if string(m[0]) == topic {
				return msgs, nil
			}
		}
		select {
		case <-in.ch:
		case <-ctx.Done():
			return msgs, fmt.Errorf("waiting for %q: %w", topic, ctx.Err())
		}
	}
}

// runSubscriber starts a Subscriber against h and returns its inbox.
func runSubscriber(t testing.TB, ctx context.Context, h *Hub, topics ...string) (*Subscriber, *inbox) {
	t.Helper()
	in := newInbox()
	s, err := NewSubscriber(SubscriberConfig{
		ClientConfig: ClientConfig{
			Addrs:   []string{h.PublishAddr().String()},
			Backoff: Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond},
			Logger:  testLogger(t),
		},
		Topics: topics,
	}, in.handle)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(runCtx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return s, in
}

func TestPublishTopicMatching(t *testing.T) {
	cases := []struct {
		name      string
		subscribe []string
		publish   string
		want      bool
	}{
		{"everything", []string{""}, "job", true},
		{"exact", []string{"job"}, "job", true},
		{"prefix", []string{"jo"}, "job", true},
		{"longer subscription", []string{"jobs"}, "job", false},
		{"other topic", []string{"minion/a"}, "minion/b", false},
		{"one of several", []string{"x", "minion/b"}, "minion/b", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := deadline(t, 10*time.Second)
			h := startHub(t, HubConfig{})
			// Every subscriber also takes "sentinel": once it arrives,
			// anything published before it has arrived too (per-peer
			// order), so absence can be checked without sleeping.
			_, in := runSubscriber(t, ctx, h, append(tc.subscribe, "sentinel")...)
			if err := h.WaitSubscribed(ctx, "sentinel", 1); err != nil {
				t.Fatal(err)
			}
			h.Publish([]byte(tc.publish), []byte("payload"))
			h.Publish([]byte("sentinel"))
			msgs, err := in.waitFor(ctx, "sentinel")
			if err != nil {
				t.Fatal(err)
			}
			got := len(msgs) == 2 && string(msgs[0][0]) == tc.publish && string(msgs[0][1]) == "payload"
			if got != tc.want {
				t.Fatalf("received %q, want delivery=%v", msgs, tc.want)
			}
		})
	}
}

func TestSendToReachesOnlyExactSubscribers(t *testing.T) {
	ctx := deadline(t, 10*time.Second)
	h := startHub(t, HubConfig{})
	_, inA := runSubscriber(t, ctx, h, "minion/a", "all")
	_, inB := runSubscriber(t, ctx, h, "minion/b", "all")
	if err := h.WaitSubscribed(ctx, "all", 2); err != nil {
		t.Fatal(err)
	}
	if d := h.SendTo("minion/a", []byte("for a")); d.Queued != 1 || d.Dropped != 0 {
		t.Fatalf("SendTo delivery = %+v, want 1 queued", d)
	}
	if d := h.SendTo("minion/nobody", []byte("x")); d.Queued != 0 {
		t.Fatalf("SendTo to nobody queued %d", d.Queued)
	}
	h.Publish([]byte("all"))
	for name, tc := range map[string]struct {
		in   *inbox
		want int
	}{"a": {inA, 2}, "b": {inB, 1}} {
		msgs, err := tc.in.waitFor(ctx, "all")
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != tc.want {
			t.Errorf("minion %s received %q, want %d messages", name, msgs, tc.want)
		}
	}
}

func TestPublishLargeAndEmptyFrames(t *testing.T) {
	ctx := deadline(t, 10*time.Second)
	h := startHub(t, HubConfig{})
	_, in := runSubscriber(t, ctx, h, "")
	if err := h.WaitSubscribed(ctx, "", 1); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 1<<20)
	h.Publish([]byte("t"), nil, big, []byte("tail"))
	msgs, err := in.waitFor(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if len(m) != 4 || len(m[1]) != 0 || !bytes.Equal(m[2], big) || string(m[3]) != "tail" {
		t.Fatalf("frames mangled: %d frames, sizes %d/%d", len(m), len(m[1]), len(m[2]))
	}
}

func TestSubscriberHandlesPing(t *testing.T) {
	// A hub peer may send ZMTP 3.1 PINGs; check our client answers with a
	// PONG carrying the context, through a hand-rolled PUB end.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx := deadline(t, 10*time.Second)
	gotPong := make(chan []byte, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		if _, err := handshake(nc, zmq4.Pub, "", true, 5*time.Second); err != nil {
			return
		}
		_, _ = nc.Write(encodeCommand(cmdPing, []byte{0, 10, 'c', 't', 'x'}))
		r := newTestReader(nc)
		for {
			m, err := readMessage(r, DefaultLimits)
			if err != nil {
				return
			}
			if m.command {
				gotPong <- m.frames[0]
				return
			}
		}
	}()
	s, err := NewSubscriber(SubscriberConfig{ClientConfig: ClientConfig{Addrs: []string{ln.Addr().String()}}},
		func([][]byte) {})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = s.Run(runCtx) }()
	select {
	case f := <-gotPong:
		name, data, err := parseCommand(f)
		if err != nil || name != cmdPong || string(data) != "ctx" {
			t.Fatalf("got command %q %q %v, want PONG ctx", name, data, err)
		}
	case <-ctx.Done():
		t.Fatal("no PONG")
	}
}

func TestHubStopIsIdempotent(t *testing.T) {
	h := startHub(t, HubConfig{})
	h.Stop()
	h.Stop()
	if _, err := net.Dial("tcp", h.PublishAddr().String()); err == nil {
		t.Fatal("publish port still accepting after Stop")
	}
}

func TestNewHubNeedsHandler(t *testing.T) {
	if _, err := NewHub(HubConfig{}); err == nil {
		t.Fatal("NewHub without handler succeeded")
	}
}

func TestPeerTag(t *testing.T) {
	ctx := deadline(t, 10*time.Second)
	var (
		mu   sync.Mutex // guards seen
		seen []any
	)
	h := startHub(t, HubConfig{Handler: HandlerFunc(func(_ context.Context, p *Peer, frames [][]byte) ([][]byte, error) {
		mu.Lock()
		seen = append(seen, p.Tag())
		mu.Unlock()
		p.SetTag(string(frames[0]))
		return nil, nil
	})})
	r := runRequester(t, ctx, h)
	for _, f := range []string{"auth", "next"} {
		if _, err := r.Request(ctx, []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != nil || seen[1] != "auth" {
		t.Fatalf("tags seen = %v, want [nil auth]", seen)
	}
}

func TestOnSubscriptionTracksConnectedMinions(t *testing.T) {
	ctx := deadline(t, 10*time.Second)
	type event struct {
		topic string
		on    bool
	}
	events := make(chan event, 16)
	h := startHub(t, HubConfig{OnSubscription: func(_ *Peer, topic string, on bool) {
		events <- event{topic, on}
	}})
	subCtx, stopSub := context.WithCancel(ctx)
	runSubscriber(t, subCtx, h, "minion/a", "minion/a") // a duplicate is one event
	next := func() event {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-ctx.Done():
			t.Fatal("no subscription event")
		}
		return event{}
	}
	if e := next(); e != (event{"minion/a", true}) {
		t.Fatalf("got %+v, want subscribe", e)
	}
	if n := h.SubscriberCount("minion/a"); n != 1 {
		t.Fatalf("SubscriberCount = %d, want 1", n)
	}
	stopSub()
	if e := next(); e != (event{"minion/a", false}) {
		t.Fatalf("got %+v, want unsubscribe on disconnect", e)
	}
	if n := h.SubscriberCount("minion/a"); n != 0 {
		t.Fatalf("SubscriberCount = %d after disconnect", n)
	}
}

func TestShutdownDeliversQueuedMessages(t *testing.T) {
	ctx := deadline(t, 20*time.Second)
	h := startHub(t, HubConfig{})
	_, in := runSubscriber(t, ctx, h, "")
	if err := h.WaitSubscribed(ctx, "", 1); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("z"), 8<<20) // more than socket buffers take at once
	h.Publish([]byte("a"), big)
	h.Publish([]byte("last"))
	h.Shutdown(ctx)
	msgs, err := in.waitFor(ctx, "last")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || len(msgs[0][1]) != len(big) {
		t.Fatalf("got %d messages", len(msgs))
	}
}
