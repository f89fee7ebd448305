package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

func newTestReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

func runRequester(t testing.TB, ctx context.Context, h *Hub) *Requester {
	t.Helper()
	r, err := NewRequester(RequesterConfig{ClientConfig: ClientConfig{
		Addrs:    []string{h.RequestAddr().String()},
		Identity: "minion-" + t.Name(),
		Backoff:  Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Logger:   testLogger(t),
	}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(runCtx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func TestRequestReplyPipelined(t *testing.T) {
	ctx := deadline(t, 20*time.Second)
	var identity string
	var mu sync.Mutex // guards identity
	h := startHub(t, HubConfig{Handler: HandlerFunc(func(ctx context.Context, p *Peer, frames [][]byte) ([][]byte, error) {
		mu.Lock()
		identity = p.Identity()
		mu.Unlock()
		return echoHandler(ctx, p, frames)
	})})
	r := runRequester(t, ctx, h)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf("req-%d", i)
			reply, err := r.Request(ctx, []byte(want), nil)
			switch {
			case err != nil:
				errs <- err
			case len(reply) != 3 || string(reply[0]) != "echo" || string(reply[1]) != want || len(reply[2]) != 0:
				errs <- fmt.Errorf("request %s got reply %q", want, reply)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if identity != "minion-"+t.Name() {
		t.Errorf("hub saw identity %q", identity)
	}
	if s := h.Stats(); s.RequestsHandled != n || s.Requesters != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestRequestHandlerErrorDisconnects(t *testing.T) {
	ctx := deadline(t, 10*time.Second)
	h := startHub(t, HubConfig{Handler: HandlerFunc(func(_ context.Context, _ *Peer, frames [][]byte) ([][]byte, error) {
		if string(frames[0]) == "bad" {
			return nil, errors.New("bad request")
		}
		return frames, nil
	})})
	r := runRequester(t, ctx, h)
	cases := []struct {
		name    string
		req     string
		wantErr error
	}{
		{"good", "ok", nil},
		{"bad", "bad", ErrDisconnected},
		{"good after reconnect", "ok", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reply, err := r.Request(ctx, []byte(tc.req))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && string(reply[0]) != tc.req {
				t.Fatalf("reply %q", reply)
			}
		})
	}
	if got := r.Sessions(); got != 2 {
		t.Errorf("sessions = %d, want 2", got)
	}
}

func TestRequestWaitsForConnection(t *testing.T) {
	ctx := deadline(t, 10*time.Second)
	r, err := NewRequester(RequesterConfig{ClientConfig: ClientConfig{Addrs: []string{"127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Request(short, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestRequesterOnConnectRunsPerSession(t *testing.T) {
	ctx := deadline(t, 10*time.Second)
	h := startHub(t, HubConfig{})
	connected := make(chan string, 4)
	var r *Requester
	r, err := NewRequester(RequesterConfig{
		ClientConfig: ClientConfig{Addrs: []string{h.RequestAddr().String()}, Backoff: Backoff{Min: 10 * time.Millisecond}},
		OnConnect: func(ctx context.Context, addr string) {
			// Authenticate the way a minion does: a request from the hook.
			reply, err := r.Request(ctx, []byte("hello"))
			if err == nil && string(reply[1]) == "hello" {
				connected <- addr
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = r.Run(runCtx) }()
	select {
	case addr := <-connected:
		if addr != h.RequestAddr().String() {
			t.Fatalf("OnConnect addr %q", addr)
		}
	case <-ctx.Done():
		t.Fatal("OnConnect never completed a request")
	}
}

func TestClientsRotateThroughAddresses(t *testing.T) {
	ctx := deadline(t, 10*time.Second)
	h := startHub(t, HubConfig{})
	// A port nobody listens on: take one, then free it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	r, err := NewRequester(RequesterConfig{ClientConfig: ClientConfig{
		Addrs:   []string{dead, h.RequestAddr().String()},
		Backoff: Backoff{Min: 10 * time.Millisecond},
		Logger:  testLogger(t),
	}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = r.Run(runCtx) }()
	if reply, err := r.Request(ctx, []byte("x")); err != nil || string(reply[1]) != "x" {
		t.Fatalf("reply %q, err %v", reply, err)
	}
}

func TestClientConfigValidation(t *testing.T) {
	cases := []struct {
		name  string
		addrs []string
	}{
		{"no address", nil},
		{"no port", []string{"master"}},
		{"one bad of two", []string{"master:4506", "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewRequester(RequesterConfig{ClientConfig: ClientConfig{Addrs: tc.addrs}}); err == nil {
				t.Error("NewRequester accepted", tc.addrs)
			}
			if _, err := NewSubscriber(SubscriberConfig{ClientConfig: ClientConfig{Addrs: tc.addrs}}, func([][]byte) {}); err == nil {
				t.Error("NewSubscriber accepted", tc.addrs)
			}
		})
	}
}

func TestSubscriberIdleTimeoutReconnects(t *testing.T) {
	ctx := deadline(t, 10*time.Second)
	// A publisher that handshakes and then says nothing, like a master
	// behind a half-open connection.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			if _, err := handshake(nc, zmq4.Pub, "", true, 5*time.Second); err == nil {
				accepted <- nc
			}
		}
	}()
	s, err := NewSubscriber(SubscriberConfig{
		ClientConfig: ClientConfig{Addrs: []string{ln.Addr().String()}, Backoff: Backoff{Min: 10 * time.Millisecond}},
		IdleTimeout:  100 * time.Millisecond,
	}, func([][]byte) {})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = s.Run(runCtx) }()
	for i := range 2 {
		select {
		case nc := <-accepted:
			defer nc.Close()
		case <-ctx.Done():
			t.Fatalf("connection %d never came: idle subscriber did not reconnect", i+1)
		}
	}
}
