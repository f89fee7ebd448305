package client

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/brine-project/brine/pkg/api/types"
)

func TestParseSSE(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		stream string
		tags   []string
	}{
		{"one event", "retry: 3000\n: hello\n\nid: 1\ndata: {\"tag\":\"a\",\"data\":1}\n\n", []string{"a"}},
		{"crlf and heartbeats", ": heartbeat\r\n\r\nid: 1\r\ndata: {\"tag\":\"a\"}\r\n\r\n: heartbeat\r\n\r\ndata: {\"tag\":\"b\"}\r\n\r\n", []string{"a", "b"}},
		{"multi-line data", "data: {\"tag\":\ndata: \"multi\"}\n\n", []string{"multi"}},
		{"not json is skipped", "data: hello\n\ndata: {\"tag\":\"c\"}\n\n", []string{"c"}},
		{"event field ignored", "event: x\ndata:{\"tag\":\"d\"}\n\n", []string{"d"}},
		{"unterminated last event is not delivered", "data: {\"tag\":\"e\"}\n", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := make(chan types.Event, 10)
			err := parseSSE(context.Background(), bufio.NewReader(strings.NewReader(c.stream)), out)
			if err != io.EOF {
				t.Fatalf("err = %v, want EOF", err)
			}
			close(out)
			var tags []string
			for ev := range out {
				tags = append(tags, ev.Tag)
			}
			if strings.Join(tags, ",") != strings.Join(c.tags, ",") {
				t.Fatalf("tags %q, want %q", tags, c.tags)
			}
		})
	}
}

func FuzzParseSSE(f *testing.F) {
	f.Add("id: 1\ndata: {\"tag\":\"a\"}\n\n: hb\n\n")
	f.Add("data: {\ndata: }\r\n\r\n")
	f.Fuzz(func(t *testing.T, stream string) {
		out := make(chan types.Event, len(stream)+1)
		if err := parseSSE(context.Background(), bufio.NewReader(strings.NewReader(stream)), out); err != io.EOF {
			t.Fatalf("err = %v, want EOF", err)
		}
	})
}
