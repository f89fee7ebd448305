package events

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		glob, tag string
		want      bool
	}{
		{"", "brine/job/1/new", true},
		{"*", "brine/job/1/new", true},
		{"brine/job/*", "brine/job/1/new", true},
		{"brine/job/*/ret/*", "brine/job/1/ret/web1", true},
		{"brine/job/*/ret/*", "brine/job/1/new", false},
		{"brine/job/*/new", "brine/job/1/ret/new", true}, // '*' crosses '/', as fnmatch does
		{"brine/job/1/new", "brine/job/1/new", true},
		{"brine/job/1/new", "brine/job/1/newer", false},
		{"brine/job/1/ne?", "brine/job/1/new", true},
		{"brine/job/1/ne?", "brine/job/1/ne", false},
		{"brine/key/[ap]*", "brine/key/accept/web1", true},
		{"brine/key/[ap]*", "brine/key/reject/web1", false},
		{"brine/key/[!ap]*", "brine/key/reject/web1", true},
		{"brine/key/[^ap]*", "brine/key/accept/web1", false},
		{"web[0-9]", "web7", true},
		{"web[0-9]", "webx", false},
		{`a\*b`, "a*b", true},
		{`a\*b`, "axb", false},
		{"a[", "a[", false}, // malformed class matches nothing
		{"*a*a*a*a*b", strings.Repeat("a", 60), false},
		{"héllo/?", "héllo/ü", true},
	}
	for _, c := range cases {
		t.Run(c.glob+"~"+c.tag, func(t *testing.T) {
			if got := Match(c.glob, c.tag); got != c.want {
				t.Fatalf("Match(%q, %q) = %v, want %v", c.glob, c.tag, got, c.want)
			}
		})
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("brine/job/*/ret/*", "brine/job/1/ret/x")
	f.Add("[!a-z]?\\", "b")
	f.Fuzz(func(t *testing.T, glob, tag string) {
		Match(glob, tag) // must not panic or loop
		if !Match("*", tag) {
			t.Fatal("* must match everything")
		}
		var esc strings.Builder
		for i := range len(tag) { // bytewise: tags need not be valid UTF-8
			esc.WriteByte('\\')
			esc.WriteByte(tag[i])
		}
		if !Match(esc.String(), tag) {
			t.Fatalf("escaped %q does not match itself", tag)
		}
		// Without '/', escapes, '!' and odd classes, fnmatch and path.Match
		// agree: a reference for the matcher.
		if glob == "" || strings.ContainsAny(glob+tag, "/\\!") || strings.Contains(glob, "[]") || strings.Contains(glob, "[^]") ||
			!utf8.ValidString(glob) || !utf8.ValidString(tag) {
			return
		}
		want, err := path.Match(glob, tag)
		if err != nil {
			return
		}
		if got := Match(glob, tag); got != want {
			t.Fatalf("Match(%q, %q) = %v, path.Match says %v", glob, tag, got, want)
		}
	})
}

func recv(t *testing.T, c <-chan Event) Event {
	t.Helper()
	select {
	case ev, ok := <-c:
		if !ok {
			t.Fatal("channel closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return Event{}
}

func TestPublishSubscribe(t *testing.T) {
	t.Parallel()
	b := New(nil)
	defer b.Stop()
	ctx := context.Background()
	rets := b.Subscribe(ctx, "brine/job/*/ret/*", 8)
	all := b.Subscribe(ctx, "", 8)

	data := map[string]any{"x": 1}
	b.Publish(JobNewTag("j1"), data)
	data["x"] = 2 // must not reach subscribers: data was encoded at Publish
	b.Publish(JobRetTag("j1", "web1"), map[string]int{"retcode": 0})

	ev := recv(t, all)
	if ev.Tag != "brine/job/j1/new" || string(ev.Data) != `{"x":1}` || ev.Time.IsZero() {
		t.Fatalf("first event = %+v", ev)
	}
	if ev := recv(t, all); ev.Tag != "brine/job/j1/ret/web1" {
		t.Fatalf("second event tag = %q", ev.Tag)
	}
	ev = recv(t, rets)
	if ev.Tag != "brine/job/j1/ret/web1" {
		t.Fatalf("rets got %q", ev.Tag)
	}
	var got map[string]int
	if err := json.Unmarshal(ev.Data, &got); err != nil || got["retcode"] != 0 {
		t.Fatalf("data %s: %v", ev.Data, err)
	}
	select {
	case ev := <-rets:
		t.Fatalf("unexpected event %q", ev.Tag)
	default:
	}
}

func TestUnencodableDataPublishesNull(t *testing.T) {
	t.Parallel()
	b := New(nil)
	defer b.Stop()
	c := b.Subscribe(context.Background(), "*", 1)
	b.Publish("brine/x", func() {})
	if ev := recv(t, c); string(ev.Data) != "null" {
		t.Fatalf("data = %s", ev.Data)
	}
}

func TestSlowSubscriberDoesNotBlock(t *testing.T) {
	t.Parallel()
	b := New(nil)
	defer b.Stop()
	ctx := context.Background()
	slow := b.SubscribeSub(ctx, "*", 2) // never read
	fast := b.Subscribe(ctx, "*", 1000)

	const n = 100
	done := make(chan struct{})
	go func() {
		for i := range n {
			b.Publish(fmt.Sprintf("brine/t/%d", i), i)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("publisher blocked by a slow subscriber")
	}
	for i := range n {
		if ev := recv(t, fast); ev.Tag != fmt.Sprintf("brine/t/%d", i) {
			t.Fatalf("fast subscriber got %q at %d (order)", ev.Tag, i)
		}
	}
	if got := slow.Dropped(); got != n-2 {
		t.Fatalf("slow dropped %d, want %d", got, n-2)
	}
	st := b.Stats()
	if st.Published != n || st.Dropped != n-2 || st.Delivered != n+2 || st.Subscribers != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestContextEndsSubscription(t *testing.T) {
	t.Parallel()
	b := New(nil)
	defer b.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	c := b.Subscribe(ctx, "*", 1)
	cancel()
	select {
	case _, ok := <-c:
		if ok {
			t.Fatal("got an event, want closed channel")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed after cancel")
	}
	b.Publish("brine/x", nil) // must not panic on the removed subscription
	if n := b.Stats().Subscribers; n != 0 {
		t.Fatalf("subscribers = %d", n)
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	b := New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := b.Subscribe(ctx, "*", 1)
	b.Stop()
	b.Stop() // idempotent
	if _, ok := <-c; ok {
		t.Fatal("channel open after Stop")
	}
	cancel() // AfterFunc after Stop must not double-close
	b.Publish("brine/x", 1)
	if _, ok := <-b.Subscribe(context.Background(), "*", 1); ok {
		t.Fatal("Subscribe after Stop returned an open channel")
	}
}

func TestConcurrentPublishAndCancel(t *testing.T) {
	t.Parallel()
	b := New(nil)
	defer b.Stop()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				ctx, cancel := context.WithCancel(context.Background())
				c := b.Subscribe(ctx, "*", 1)
				b.Publish(fmt.Sprintf("brine/%d/%d", i, j), j)
				cancel()
				for range c { // drains until closed
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkPublish(b *testing.B) {
	for _, subs := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			bus := New(nil)
			defer bus.Stop()
			ctx := context.Background()
			for i := range subs {
				c := bus.Subscribe(ctx, fmt.Sprintf("brine/job/*/ret/m%d", i), 1)
				go func() {
					for range c {
					}
				}()
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				bus.Publish("brine/job/1/ret/m1", i)
			}
		})
	}
}
