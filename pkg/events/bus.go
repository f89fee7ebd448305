// Package events is the master's in-process event bus. Components publish
// Salt-style tagged events (brine/job/<jid>/new, brine/job/<jid>/ret/<minion>,
// brine/key/..., brine/minion/<id>/start, brine/hook/<path>) and subscribers
// receive the ones whose tag matches a glob.
//
// What the package promises:
//   - Publish never blocks on a subscriber: each subscription has a bounded
//     buffer, and an event that does not fit is dropped for that subscriber
//     only and counted ([Subscription.Dropped], [Bus.Stats]);
//   - every subscriber sees the events it receives in publication order;
//   - event data is encoded to JSON once, at Publish, so subscribers share an
//     immutable value and a later change to the published Go value cannot
//     reach them;
//   - a subscription ends (its channel is closed) when its context is done
//     or the bus is stopped.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Tag prefixes and builders for the events the master publishes. Tags are
// slash-separated like Salt's, so that a glob such as "brine/job/*/ret/*"
// selects every return.
const (
	TagPrefix     = "brine/"
	TagJobPrefix  = "brine/job/"
	TagKeyPrefix  = "brine/key/"
	TagHookPrefix = "brine/hook/"
)

// JobNewTag is the tag of the event fired when a job is published.
func JobNewTag(jid string) string { return TagJobPrefix + jid + "/new" }

// JobRetTag is the tag of the event fired when a minion's return is stored.
func JobRetTag(jid, minion string) string { return TagJobPrefix + jid + "/ret/" + minion }

// JobCompleteTag is the tag of the event fired when a job is complete (every
// expected minion answered, or the timeout passed).
func JobCompleteTag(jid string) string { return TagJobPrefix + jid + "/complete" }

// KeyTag is the tag of a key event; action is e.g. "pending", "accept",
// "reject", "delete".
func KeyTag(action, minion string) string { return TagKeyPrefix + action + "/" + minion }

// MinionStartTag is the tag of the event fired when a minion authenticates.
func MinionStartTag(id string) string { return "brine/minion/" + id + "/start" }

// HookTag is the tag of the event fired by POST /api/v1/hooks/<path>.
func HookTag(path string) string { return TagHookPrefix + path }

// Event is one published event. Data is the JSON encoding of the value given
// to Publish.
type Event struct {
	Tag  string          `json:"tag"`
	Data json.RawMessage `json:"data"`
	Time time.Time       `json:"time"`
	// Origin is empty for events published on this master and names the
	// master an event came from when a bridge (PostgreSQL LISTEN/NOTIFY)
	// republished it here with PublishEvent; a bridge forwards only events
	// with an empty Origin, so events never loop between masters.
	Origin string `json:"origin,omitempty"`
}

// Stats are the bus's counters since it was made.
type Stats struct {
	Subscribers int    // current subscriptions
	Published   uint64 // events published
	Delivered   uint64 // event deliveries to subscribers
	Dropped     uint64 // deliveries dropped because a subscriber's buffer was full
}

// DefaultBuffer is the buffer a subscription gets when asked for 0 or less.
const DefaultBuffer = 256

// Bus fans events out to subscribers. The zero value is not usable: call New.
type Bus struct {
	log *slog.Logger

	mu      sync.RWMutex // guards subs and stopped; Publish holds it for reading while delivering
	subs    map[*Subscription]struct{}
	stopped bool

	published atomic.Uint64
	delivered atomic.Uint64
	dropped   atomic.Uint64
}

// New returns a running bus. log may be nil (events are then not logged).
func New(log *slog.Logger) *Bus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bus{log: log, subs: make(map[*Subscription]struct{})}
}

// Subscription is one subscriber's view of the bus.
type Subscription struct {
	// C receives the events whose tag matches the subscription's glob. It is
	// closed when the subscription's context is done or the bus stops.
	C <-chan Event

	c       chan Event
	glob    string
	dropped atomic.Uint64
	closed  bool // guarded by Bus.mu (write lock)
}

// Dropped returns how many events this subscription missed because its
// buffer was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Glob returns the tag glob the subscription was made with.
func (s *Subscription) Glob() string { return s.glob }

// Subscribe returns a channel of the events whose tag matches tagGlob (see
// [Match]; "" or "*" is every event), buffered to buffer events. It is
// closed when ctx is done or the bus stops.
func (b *Bus) Subscribe(ctx context.Context, tagGlob string, buffer int) <-chan Event {
	return b.SubscribeSub(ctx, tagGlob, buffer).C
}

// SubscribeSub is Subscribe returning the Subscription, for callers that want
// its drop counter (the API's event stream tells its client about drops).
func (b *Bus) SubscribeSub(ctx context.Context, tagGlob string, buffer int) *Subscription {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	if tagGlob == "" {
		tagGlob = "*"
	}
	c := make(chan Event, buffer)
	s := &Subscription{C: c, c: c, glob: tagGlob}
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		s.closed = true
		close(c)
		return s
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	// context.AfterFunc costs no goroutine while the context is alive.
	context.AfterFunc(ctx, func() { b.remove(s) })
	return s
}

func (b *Bus) remove(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.closed {
		return
	}
	delete(b.subs, s)
	s.closed = true
	close(s.c)
}

// Publish sends an event with the given tag to every matching subscriber.
// data is encoded to JSON now; a value that cannot be encoded is logged and
// published as null so subscribers still see the tag. Publish after Stop does
// nothing.
func (b *Bus) Publish(tag string, data any) {
	raw, err := json.Marshal(data)
	if err != nil {
		b.log.Error("events: encode event data", slog.String("tag", tag), slog.Any("error", err))
		raw = json.RawMessage("null")
	}
	b.PublishEvent(Event{Tag: tag, Data: raw, Time: time.Now().UTC()})
}

// PublishEvent publishes an already encoded event as it is. It is the entry
// point for events that come from elsewhere (another master, through the
// job store), which keep their original time. A zero Time is set to now and
// nil Data to null.
func (b *Bus) PublishEvent(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	if ev.Data == nil {
		ev.Data = json.RawMessage("null")
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.stopped {
		return
	}
	b.published.Add(1)
	for s := range b.subs {
		if !Match(s.glob, ev.Tag) {
			continue
		}
		select {
		case s.c <- ev:
			b.delivered.Add(1)
		default:
			// A full buffer means this subscriber is behind: it loses the
			// event, nobody else waits for it.
			if s.dropped.Add(1) == 1 {
				b.log.Warn("events: subscriber too slow, dropping events",
					slog.String("glob", s.glob), slog.Int("buffer", cap(s.c)))
			}
			b.dropped.Add(1)
		}
	}
}

// Stop closes every subscription; later Publish calls do nothing and later
// Subscribe calls return closed channels. It is idempotent.
func (b *Bus) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	b.stopped = true
	for s := range b.subs {
		s.closed = true
		close(s.c)
	}
	clear(b.subs)
}

// Stats returns the bus's counters.
func (b *Bus) Stats() Stats {
	b.mu.RLock()
	n := len(b.subs)
	b.mu.RUnlock()
	return Stats{
		Subscribers: n,
		Published:   b.published.Load(),
		Delivered:   b.delivered.Load(),
		Dropped:     b.dropped.Load(),
	}
}

// String describes the bus for logs.
func (b *Bus) String() string {
	s := b.Stats()
	return fmt.Sprintf("events.Bus{subscribers: %d, published: %d, dropped: %d}", s.Subscribers, s.Published, s.Dropped)
}
