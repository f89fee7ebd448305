package session

import (
	"fmt"
	"sync"
	"testing"

	"github.com/brine-project/brine/pkg/proto"
)

// TestConcurrentUse runs publishes, requests and replies for several minions
// at once (meaningful under -race): nothing is lost or mixed up.
func TestConcurrentUse(t *testing.T) {
	r := newRig(t)
	clients := make([]*Client, 4)
	for i := range clients {
		clients[i] = r.client(fmt.Sprintf("m%d", i), nil)
		r.accepted(clients[i])
	}
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, len(clients)*n*2)
	for _, c := range clients {
		wg.Add(2)
		go func() { // publishes
			defer wg.Done()
			for range n {
				p, err := r.auth.SealPublish("job", []byte("x"))
				if err != nil {
					errs <- err
					return
				}
				if _, _, err := c.OpenPublish(p); err != nil {
					errs <- fmt.Errorf("publish: %w", err)
				}
			}
		}()
		go func() { // requests and replies
			defer wg.Done()
			for range n {
				req, id, err := c.SealRequest(proto.KindReturn, []byte("r"))
				if err != nil {
					errs <- err
					return
				}
				mid, m, err := r.auth.OpenRequest(req)
				if err != nil {
					errs <- fmt.Errorf("request: %w", err)
					continue
				}
				rep, err := r.auth.SealReply(mid, proto.Reply{ID: m.ID})
				if err != nil {
					errs <- err
					continue
				}
				got, err := c.OpenReply(rep)
				if err != nil || got.ID != id {
					errs <- fmt.Errorf("reply: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, c := range clients {
		if s := c.Stats(); s.Opened != n {
			t.Errorf("%s opened %d of %d publishes: %+v", c.cfg.ID, s.Opened, n, s)
		}
	}
}
