package client

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/brine-project/brine/pkg/api/types"
)

// Events opens the master's event stream (server-sent events), filtered by
// a tag glob ("" for every event, "brine/job/*/ret/*" for returns). The
// channel is closed when ctx ends or the stream does (master restart,
// network); it does not reconnect, so callers that want a permanent stream
// call Events again. A slow reader loses events on the master's side, which
// then sends an event tagged "brine/api/events/dropped" with {"dropped": n}.
func (c *Client) Events(ctx context.Context, tagGlob string) (<-chan types.Event, error) {
	var q url.Values
	if tagGlob != "" {
		q = url.Values{"tag": {tagGlob}}
	}
	res, err := c.send(ctx, "GET", "/events", q, nil)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		defer res.Body.Close()
		return nil, readError(res)
	}
	out := make(chan types.Event, 64)
	go func() {
		defer close(out)
		defer res.Body.Close()
		_ = parseSSE(ctx, bufio.NewReader(res.Body), out)
	}()
	return out, nil
}

// parseSSE reads server-sent events (the subset the API sends: data lines,
// ids, comments, retry) and decodes each event's data as types.Event. It
// returns at end of stream, on a read error or when ctx ends.
func parseSSE(ctx context.Context, r *bufio.Reader, out chan<- types.Event) error {
	var data strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if data.Len() == 0 {
				continue
			}
			var ev types.Event
			jsonErr := json.Unmarshal([]byte(data.String()), &ev)
			data.Reset()
			if jsonErr != nil {
				continue // not one of ours; the stream goes on
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return ctx.Err()
			}
		case strings.HasPrefix(line, ":"):
			// comment: heartbeat
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			if field == "data" {
				if data.Len() > 0 {
					data.WriteByte('\n')
				}
				data.WriteString(value)
			}
		}
	}
}
