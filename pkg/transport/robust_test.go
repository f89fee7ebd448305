package transport

import (
	"bytes"
	"context"
	"io"
	"net"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

// waitStats waits until cond holds for the hub's stats. Subscriber count
// changes wake it; other counters are read at those moments.
func waitStats(ctx context.Context, h *Hub, cond func(HubStats) bool) (HubStats, error) {
	for {
		h.mu.RLock()
		ch := h.changed
		h.mu.RUnlock()
		if s := h.Stats(); cond(s) {
			return s, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return h.Stats(), ctx.Err()
		}
	}
}

// rawGreeting is a ZMTP 3.0 NULL client greeting, written by hand so the
// tests can misbehave after it.
func rawGreeting() []byte {
	g := make([]byte, greetingLen)
	g[0], g[9], g[10], g[11] = 0xff, 0x7f, 3, 0
	copy(g[12:], "NULL")
	return g
}

// expectClosed reads until the hub closes the connection.
func expectClosed(t *testing.T, nc net.Conn) {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, nc); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("hub did not close the connection")
		}
	}
}

func TestHubDropsMisbehavingPeers(t *testing.T) {
	cases := []struct {
		name string
		// send misbehaves on a fresh connection to the publish port.
		send func(t *testing.T, nc net.Conn)
		want func(HubStats) bool
	}{
		{"huge frame during handshake", func(t *testing.T, nc net.Conn) {
			_, _ = nc.Write(append(rawGreeting(), longHeader(flagCommand, 1<<40)...))
		}, func(s HubStats) bool { return s.HandshakeFailed == 1 }},
		{"garbage greeting", func(t *testing.T, nc net.Conn) {
			_, _ = nc.Write(bytes.Repeat([]byte("GET / HTTP/1.1\r\n"), 8))
		}, func(s HubStats) bool { return s.HandshakeFailed == 1 }},
		{"silent client", func(t *testing.T, nc net.Conn) {}, func(s HubStats) bool { return s.HandshakeFailed == 1 }},
		{"huge frame after handshake", func(t *testing.T, nc net.Conn) {
			if _, err := handshake(nc, zmq4.Sub, "", false, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			_, _ = nc.Write(longHeader(0, 1<<40))
		}, func(s HubStats) bool { return s.ProtocolErrors == 1 }},
		{"reserved flags after handshake", func(t *testing.T, nc net.Conn) {
			if _, err := handshake(nc, zmq4.Sub, "", false, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			_, _ = nc.Write([]byte{0xf0, 0})
		}, func(s HubStats) bool { return s.ProtocolErrors == 1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := deadline(t, 10*time.Second)
			h := startHub(t, HubConfig{HandshakeTimeout: 200 * time.Millisecond})
			nc, err := net.Dial("tcp", h.PublishAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			tc.send(t, nc)
			expectClosed(t, nc)
			// The counters are bumped before the close we just saw.
			if s := h.Stats(); !tc.want(s) {
				t.Fatalf("stats %+v", s)
			}
			// And the hub still serves others.
			_, in := runSubscriber(t, ctx, h, "ok")
			if err := h.WaitSubscribed(ctx, "ok", 1); err != nil {
				t.Fatal(err)
			}
			h.Publish([]byte("ok"))
			if _, err := in.waitFor(ctx, "ok"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestStalledSubscriberIsCutOffWithoutDelayingOthers(t *testing.T) {
	cases := []struct {
		name  string
		cfg   HubConfig
		msgs  int
		paced bool // wait for the healthy subscribers after each message
		want  func(HubStats) bool
	}{
		// A burst that fits the queues: the stalled peer's writer blocks
		// once kernel buffers are full and its write deadline cuts it.
		{"write deadline", HubConfig{QueueSize: 128, WriteTimeout: 2 * time.Second}, 64, false,
			func(s HubStats) bool { return s.WriteErrors == 1 && s.SlowDisconnects == 0 }},
		// Paced messages with a long deadline: the stalled peer's queue
		// fills first and it is cut on enqueue.
		{"queue full", HubConfig{QueueSize: 8, WriteTimeout: time.Minute}, 128, true,
			func(s HubStats) bool { return s.SlowDisconnects == 1 && s.WriteErrors == 0 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := deadline(t, 30*time.Second)
			h := startHub(t, tc.cfg)

			// The stalled peer: handshakes, subscribes to everything, never reads.
			stalled, err := net.Dial("tcp", h.PublishAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer stalled.Close()
			if _, err := handshake(stalled, zmq4.Sub, "stalled", false, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if _, err := stalled.Write(encodeMessage([][]byte{{1}})); err != nil {
				t.Fatal(err)
			}
			if err := h.WaitSubscribed(ctx, "", 1); err != nil {
				t.Fatal(err)
			}

			const others = 5
			inboxes := make([]*inbox, others)
			for i := range inboxes {
				_, inboxes[i] = runSubscriber(t, ctx, h, "m", "end")
			}
			if err := h.WaitSubscribed(ctx, "end", others); err != nil {
				t.Fatal(err)
			}
			// 256 KiB messages: tens of them exceed what loopback socket
			// buffers hold for the stalled peer.
			payload := bytes.Repeat([]byte("p"), 256<<10)
			for i := range tc.msgs {
				topic := "m" + strconv.Itoa(i)
				h.Publish([]byte(topic), payload)
				if !tc.paced {
					continue
				}
				for j, in := range inboxes {
					if _, err := in.waitFor(ctx, topic); err != nil {
						t.Fatalf("subscriber %d: %v", j, err)
					}
				}
			}
			h.Publish([]byte("end"))
			for i, in := range inboxes {
				got, err := in.waitFor(ctx, "end")
				if err != nil {
					t.Fatalf("subscriber %d: %v", i, err)
				}
				if len(got) != tc.msgs+1 {
					t.Fatalf("subscriber %d got %d messages, want %d", i, len(got), tc.msgs+1)
				}
			}
			s, err := waitStats(ctx, h, func(s HubStats) bool { return s.Subscribers == others })
			if err != nil {
				t.Fatalf("stalled peer still connected: %+v", s)
			}
			if !tc.want(s) {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestFleetReconnectsAfterHubRestart restarts the hub under 100 minions
// (a Subscriber and a Requester each, the requester authenticating from
// OnConnect) and checks they all come back, spread over time.
func TestFleetReconnectsAfterHubRestart(t *testing.T) {
	const fleet = 100
	ctx := deadline(t, 30*time.Second)
	h := startHub(t, HubConfig{})
	pubAddr, reqAddr := h.PublishAddr().String(), h.RequestAddr().String()

	var (
		mu      sync.Mutex // guards authAt
		authAt  = map[string][]time.Time{}
		authed  = make(chan struct{}, 4*fleet)
		backoff = Backoff{Min: 200 * time.Millisecond, Max: 2 * time.Second, Jitter: 0.9}
	)
	for i := range fleet {
		id := "minion-" + strconv.Itoa(i)
		s, err := NewSubscriber(SubscriberConfig{
			ClientConfig: ClientConfig{Addrs: []string{pubAddr}, Identity: id, Backoff: backoff},
			Topics:       []string{"all"},
		}, func([][]byte) {})
		if err != nil {
			t.Fatal(err)
		}
		var r *Requester
		r, err = NewRequester(RequesterConfig{
			ClientConfig: ClientConfig{Addrs: []string{reqAddr}, Identity: id, Backoff: backoff},
			OnConnect: func(ctx context.Context, _ string) {
				if _, err := r.Request(ctx, []byte("auth"), []byte(id)); err != nil {
					return
				}
				mu.Lock()
				authAt[id] = append(authAt[id], time.Now())
				mu.Unlock()
				authed <- struct{}{}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _ = s.Run(runCtx) }()
		go func() { defer wg.Done(); _ = r.Run(runCtx) }()
		t.Cleanup(func() { cancel(); wg.Wait() })
	}
	waitN := func(n int) {
		t.Helper()
		for range n {
			select {
			case <-authed:
			case <-ctx.Done():
				t.Fatalf("minions did not authenticate: %v", ctx.Err())
			}
		}
	}
	waitN(fleet)
	if err := h.WaitSubscribed(ctx, "all", fleet); err != nil {
		t.Fatal(err)
	}

	h.Stop()
	restart := time.Now()
	h2 := startHub(t, HubConfig{PublishAddr: pubAddr, RequestAddr: reqAddr})
	back := deadline(t, 10*time.Second)
	if err := h2.WaitSubscribed(back, "all", fleet); err != nil {
		t.Fatalf("not all subscribers back within 10s: %v", err)
	}
	waitN(fleet)
	if back.Err() != nil {
		t.Fatal("not all minions re-authenticated within 10s")
	}

	mu.Lock()
	defer mu.Unlock()
	var times []time.Duration
	for _, ts := range authAt {
		if len(ts) != 2 {
			t.Fatalf("a minion authenticated %d times, want 2", len(ts))
		}
		times = append(times, ts[1].Sub(restart))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	spread := times[len(times)-1] - times[0]
	t.Logf("re-auth after restart: first %v, median %v, last %v, spread %v",
		times[0].Round(time.Millisecond), times[len(times)/2].Round(time.Millisecond),
		times[len(times)-1].Round(time.Millisecond), spread.Round(time.Millisecond))
	// Jitter 0.9 of a 200ms base spreads the first retry over 180ms; a
	// herd would land within a few milliseconds.
	if spread < 50*time.Millisecond {
		t.Fatalf("reconnects not spread: %v", spread)
	}
}
