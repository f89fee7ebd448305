package transport

import (
	"context"
	"fmt"
	"strings"
)

// handleSubscription applies a SUB peer's subscribe/unsubscribe message
// (ZMTP 3.0 form: one frame, 1 or 0 then the topic) or command (3.1 form).
// Other messages from a subscriber carry no meaning and are ignored.
func (h *Hub) handleSubscription(p *Peer, m message) error {
	var (
		topic string
		on    bool
	)
	switch {
	case m.command:
		name, data, _ := parseCommand(m.frames[0]) // validated by readLoop
		switch name {
		case cmdSubscribe:
			topic, on = string(data), true
		case cmdCancel:
			topic = string(data)
		default:
			return nil
		}
	case len(m.frames) == 1 && len(m.frames[0]) > 0 && m.frames[0][0] <= 1:
		topic, on = string(m.frames[0][1:]), m.frames[0][0] == 1
	default:
		return nil
	}
	h.mu.Lock()
	_, had := p.topics[topic]
	if on {
		p.topics[topic] = struct{}{}
		set := h.exact[topic]
		if set == nil {
			set = make(map[*Peer]struct{})
			h.exact[topic] = set
		}
		set[p] = struct{}{}
	} else {
		delete(p.topics, topic)
		h.dropExactLocked(topic, p)
	}
	h.notifyLocked()
	h.mu.Unlock()
	if had != on && h.cfg.OnSubscription != nil {
		h.cfg.OnSubscription(p, topic, on)
	}
	return nil
}

// Publish queues a message whose first frame is topic to every subscriber
// with a subscription that is a prefix of topic (ZeroMQ's rule; the empty
// subscription matches everything). It never blocks on a peer.
func (h *Hub) Publish(topic []byte, body ...[]byte) Delivery {
	buf := encodeMessage(append([][]byte{topic}, body...))
	var d Delivery
	ts := string(topic)
	h.mu.RLock()
	defer h.mu.RUnlock()
	for p := range h.subs {
		if !p.matchesLocked(ts) {
			continue
		}
		h.count(&d, p.enqueue(buf))
	}
	return d
}

// SendTo queues a message whose first frame is topic to the subscribers
// that subscribed to exactly topic, found by one map lookup: a minion that
// subscribes to its own topic can be reached in O(1) whatever the fleet size.
func (h *Hub) SendTo(topic string, body ...[]byte) Delivery {
	buf := encodeMessage(append([][]byte{[]byte(topic)}, body...))
	var d Delivery
	h.mu.RLock()
	defer h.mu.RUnlock()
	for p := range h.exact[topic] {
		h.count(&d, p.enqueue(buf))
	}
	return d
}

func (h *Hub) count(d *Delivery, err error) {
	if err != nil {
		d.Dropped++
		return
	}
	d.Queued++
	h.stats.published.Add(1)
}

func (p *Peer) matchesLocked(topic string) bool {
	for t := range p.topics {
		if strings.HasPrefix(topic, t) {
			return true
		}
	}
	return false
}

// WaitSubscribed blocks until at least n connections subscribe to exactly
// topic, or ctx is done. Tests, benchmarks and `make demo` use it instead of
// sleeping.
func (h *Hub) WaitSubscribed(ctx context.Context, topic string, n int) error {
	for {
		h.mu.RLock()
		have, ch := len(h.exact[topic]), h.changed
		h.mu.RUnlock()
		if have >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("transport: %d of %d subscribers on %q: %w", have, n, topic, ctx.Err())
		}
	}
}

// SubscriberCount is the number of connections subscribed to exactly
// topic, in O(1): with one topic per minion, whether it is connected.
func (h *Hub) SubscriberCount(topic string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.exact[topic])
}
