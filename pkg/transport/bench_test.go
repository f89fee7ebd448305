package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

// Fleet sizes the issue asks figures for. `go test -bench . -short` keeps
// to the first.
var fleetSizes = []int{100, 1000, 3000}

func benchSizes() []int {
	if testing.Short() {
		return fleetSizes[:1]
	}
	return fleetSizes
}

// round counts deliveries of one benchmark iteration down to zero.
type round struct {
	left atomic.Int64
	done chan struct{}
}

func newRound(n int) *round {
	r := &round{done: make(chan struct{})}
	r.left.Store(int64(n))
	return r
}

func (r *round) hit() {
	if r.left.Add(-1) == 0 {
		close(r.done)
	}
}

// wait fails the benchmark instead of hanging when a delivery is lost (a
// minion cut off by its write deadline on a badly overloaded machine).
func (r *round) wait(b *testing.B) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	select {
	case <-r.done:
	case <-t.C:
		b.Fatalf("round incomplete after a minute: %d deliveries missing", r.left.Load())
	}
}

// fleet is n in-process minions, each a Subscriber and a Requester, as the
// minion daemon runs them.
type fleet struct {
	hub     *Hub
	pubs    atomic.Pointer[round] // current fan-out round
	returns atomic.Pointer[round] // current returns round
	reqs    []*Requester
	stop    func()
}

func newFleet(b *testing.B, n int, replyOnPublish bool, cfg HubConfig) *fleet {
	b.Helper()
	f := &fleet{}
	cfg.Handler = HandlerFunc(func(_ context.Context, _ *Peer, _ [][]byte) ([][]byte, error) {
		if r := f.returns.Load(); r != nil {
			r.hit()
		}
		return nil, nil
	})
	f.hub = startHub(b, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	backoff := Backoff{Min: 50 * time.Millisecond, Max: time.Second}
	for i := range n {
		id := fmt.Sprintf("minion-%d", i)
		var req *Requester
		if replyOnPublish {
			var err error
			req, err = NewRequester(RequesterConfig{ClientConfig: ClientConfig{
				Addrs: []string{f.hub.RequestAddr().String()}, Identity: id, Backoff: backoff}})
			if err != nil {
				b.Fatal(err)
			}
			f.reqs = append(f.reqs, req)
		}
		sub, err := NewSubscriber(SubscriberConfig{
			ClientConfig: ClientConfig{Addrs: []string{f.hub.PublishAddr().String()}, Identity: id, Backoff: backoff},
			Topics:       []string{"broadcast", "minion/" + id},
		}, func(frames [][]byte) {
			if r := f.pubs.Load(); r != nil {
				r.hit()
			}
			if req != nil {
				// The minion answers from another goroutine, as the
				// real one runs the job off the read loop.
				go func() { _, _ = req.Request(ctx, []byte("return"), frames[1]) }()
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = sub.Run(ctx) }()
		if req != nil {
			wg.Add(1)
			go func() { defer wg.Done(); _ = req.Run(ctx) }()
		}
	}
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := f.hub.WaitSubscribed(wctx, "broadcast", n); err != nil {
		b.Fatal(err)
	}
	for _, r := range f.reqs {
		if _, err := r.Request(wctx, []byte("warmup")); err != nil {
			b.Fatal(err)
		}
	}
	f.stop = func() { cancel(); f.hub.Stop(); wg.Wait() }
	b.Cleanup(f.stop)
	return f
}

// BenchmarkHubFanout: time for one 1 KiB publish to reach every minion.
func BenchmarkHubFanout(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("minions=%d", n), func(b *testing.B) {
			f := newFleet(b, n, false, HubConfig{})
			payload := make([]byte, 1024)
			for b.Loop() {
				r := newRound(n)
				f.pubs.Store(r)
				f.hub.Publish([]byte("broadcast"), payload)
				r.wait(b)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkHubRoundTrip: time from one publish until every minion's reply
// (a request on the request port) has reached the master's handler.
func BenchmarkHubRoundTrip(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("minions=%d", n), func(b *testing.B) {
			f := newFleet(b, n, true, HubConfig{})
			payload := make([]byte, 1024)
			for b.Loop() {
				pubs, rets := newRound(n), newRound(n)
				f.pubs.Store(pubs)
				f.returns.Store(rets)
				f.hub.Publish([]byte("broadcast"), payload)
				rets.wait(b)
			}
		})
	}
}

// BenchmarkHubFanoutStalledPeer: 64 KiB publishes to 1,000 minions, with
// and without one more peer that subscribed to everything and never reads.
// The stalled peer's own writer waits out its 2s write deadline once its
// socket buffers are full, then the hub cuts it off; the others never wait
// for it. max-ms is the slowest single publish of the run.
func BenchmarkHubFanoutStalledPeer(b *testing.B) {
	const n = 1000
	for _, stalledPeers := range []int{0, 1} {
		b.Run(fmt.Sprintf("stalled=%d", stalledPeers), func(b *testing.B) {
			f := newFleet(b, n, false, HubConfig{WriteTimeout: 2 * time.Second})
			for range stalledPeers {
				// A small receive buffer, so the stalled peer's socket
				// fills after a few publishes, not after megabytes.
				d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
					var serr error
					err := c.Control(func(fd uintptr) {
						serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
					})
					return errors.Join(err, serr)
				}}
				stalled, err := d.Dial("tcp", f.hub.PublishAddr().String())
				if err != nil {
					b.Fatal(err)
				}
				defer stalled.Close()
				if _, err := handshake(stalled, zmq4.Sub, "stalled", false, 5*time.Second); err != nil {
					b.Fatal(err)
				}
				if _, err := stalled.Write(encodeMessage([][]byte{{1}})); err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err = f.hub.WaitSubscribed(ctx, "", 1)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
			}
			payload := make([]byte, 64<<10)
			var slowest time.Duration
			for b.Loop() {
				start := time.Now()
				r := newRound(n)
				f.pubs.Store(r)
				f.hub.Publish([]byte("broadcast"), payload)
				r.wait(b)
				slowest = max(slowest, time.Since(start))
			}
			s := f.hub.Stats()
			b.ReportMetric(float64(slowest.Microseconds())/1000, "max-ms")
			b.ReportMetric(float64(s.SlowDisconnects+s.WriteErrors), "cutoffs")
		})
	}
}

// BenchmarkZmq4PubFanout is the baseline: zmq4 v0.17.0's own PUB socket
// with n zmq4 SUB sockets, one 1 KiB message to all.
func BenchmarkZmq4PubFanout(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("minions=%d", n), func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pub := zmq4.NewPub(ctx)
			defer pub.Close()
			if err := pub.Listen("tcp://127.0.0.1:0"); err != nil {
				b.Fatal(err)
			}
			ep := "tcp://" + pub.Addr().String()
			var (
				cur    atomic.Pointer[round]
				warmed atomic.Int64
				allIn  = make(chan struct{})
				wg     sync.WaitGroup
			)
			for range n {
				sub := zmq4.NewSub(ctx)
				if err := sub.Dial(ep); err != nil {
					b.Fatal(err)
				}
				if err := sub.SetOption(zmq4.OptionSubscribe, ""); err != nil {
					b.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer sub.Close()
					first := true
					for {
						msg, err := sub.Recv()
						if err != nil {
							return
						}
						if string(msg.Frames[0]) == "warmup" {
							if first && warmed.Add(1) == int64(n) {
								close(allIn)
							}
							first = false
							continue
						}
						if r := cur.Load(); r != nil {
							r.hit()
						}
					}
				}()
			}
			// zmq4 gives no signal that a subscription arrived: publish
			// warm-up messages until every subscriber has seen one.
			tick := time.NewTicker(20 * time.Millisecond)
		warm:
			for {
				if err := pub.Send(zmq4.NewMsgString("warmup")); err != nil {
					b.Fatal(err)
				}
				select {
				case <-allIn:
					break warm
				case <-tick.C:
				case <-time.After(time.Minute):
					b.Fatalf("%d of %d zmq4 subscribers warmed up", warmed.Load(), n)
				}
			}
			tick.Stop()
			payload := make([]byte, 1024)
			for b.Loop() {
				r := newRound(n)
				cur.Store(r)
				if err := pub.Send(zmq4.NewMsgFrom([]byte("broadcast"), payload)); err != nil {
					b.Fatal(err)
				}
				r.wait(b)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
			cancel()
			_ = pub.Close()
			wg.Wait()
		})
	}
}
