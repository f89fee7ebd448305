package transport_test

import (
	"context"
	"fmt"
	"time"

	"github.com/brine-project/brine/pkg/transport"
)

// A master hub and one minion: the minion subscribes to the broadcast
// topic and its own, and answers each publish over the request port.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	returns := make(chan string, 1)
	hub, err := transport.NewHub(transport.HubConfig{
		PublishAddr: "127.0.0.1:0",
		RequestAddr: "127.0.0.1:0",
		Handler: transport.HandlerFunc(func(_ context.Context, p *transport.Peer, frames [][]byte) ([][]byte, error) {
			returns <- p.Identity() + ": " + string(frames[0])
			return [][]byte{[]byte("ok")}, nil
		}),
	})
	if err != nil {
		panic(err)
	}
	if err := hub.Start(ctx); err != nil {
		panic(err)
	}
	defer hub.Stop()

	req, err := transport.NewRequester(transport.RequesterConfig{ClientConfig: transport.ClientConfig{
		Addrs: []string{hub.RequestAddr().String()}, Identity: "web1"}})
	if err != nil {
		panic(err)
	}
	sub, err := transport.NewSubscriber(transport.SubscriberConfig{
		ClientConfig: transport.ClientConfig{Addrs: []string{hub.PublishAddr().String()}, Identity: "web1"},
		Topics:       []string{"broadcast", "minion/web1"},
	}, func(frames [][]byte) {
		// Hand the job off: the read loop must keep reading.
		go func() { _, _ = req.Request(ctx, []byte("pong to "+string(frames[1]))) }()
	})
	if err != nil {
		panic(err)
	}
	go func() { _ = req.Run(ctx) }()
	go func() { _ = sub.Run(ctx) }()

	if err := hub.WaitSubscribed(ctx, "minion/web1", 1); err != nil {
		panic(err)
	}
	d := hub.SendTo("minion/web1", []byte("ping"))
	fmt.Println("queued to", d.Queued)
	fmt.Println(<-returns)
	// Output:
	// queued to 1
	// web1: pong to ping
}
