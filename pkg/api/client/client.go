// Package client is the Go client of Brine's HTTP API (/api/v1): what
// brinectl, chatbots and deployers link against. It imports nothing of
// Brine's but pkg/api/types, so it can be vendored on its own.
//
// Every call takes a context, which is the only bound on its duration: the
// default HTTP client has no overall timeout because waiting for a job and
// streaming events legitimately take long. Non-2xx answers are returned as
// *Error, carrying the server's status, code and message.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/brine-project/brine/pkg/api/types"
)

// Prefix is the API's path prefix.
const Prefix = "/api/v1"

// Client talks to one master's API. It is safe for concurrent use.
type Client struct {
	base  string
	token string
	hc    *http.Client
	// UserAgent is sent with every request.
	UserAgent string
}

// New returns a client for the master at baseURL ("http://127.0.0.1:8000")
// authenticating with token. hc nil means a client without overall timeout
// (bound calls with their context).
func New(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: hc, UserAgent: "brine-client/1"}
}

// Error is a non-2xx answer of the API.
type Error struct {
	Status  int    // HTTP status
	Code    string // types.Code*
	Message string
	Field   string // the offending request field of a 400, if any
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("client: HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("client: %s (HTTP %d, %s)", e.Message, e.Status, e.Code)
}

// IsNotFound reports whether err is the API's 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// do sends a request and decodes a 2xx JSON answer into out (nil: discard).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	res, err := c.send(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return readError(res)
	}
	if out == nil || res.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("client: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func (c *Client) send(ctx context.Context, method, path string, q url.Values, body any) (*http.Response, error) {
	u := c.base + Prefix + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("client: encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", c.UserAgent)
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	return res, nil
}

// readError turns a non-2xx answer into *Error, coping with bodies that are
// not ours (a proxy's HTML page).
func readError(res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var e types.Error
	if err := json.Unmarshal(b, &e); err == nil && e.Error != "" {
		return &Error{Status: res.StatusCode, Code: e.Code, Message: e.Error, Field: e.Field}
	}
	msg := strings.TrimSpace(string(b))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	if msg == "" {
		msg = http.StatusText(res.StatusCode)
	}
	return &Error{Status: res.StatusCode, Message: msg}
}

func seg(s string) string { return url.PathEscape(s) }

// SubmitJob starts a job. With req.Wait it returns once the job is complete
// (or ctx ends); otherwise at once with the expected minions.
func (c *Client) SubmitJob(ctx context.Context, req types.JobRequest) (*types.JobDetail, error) {
	var j types.JobDetail
	return &j, c.do(ctx, "POST", "/jobs", nil, req, &j)
}

// Job returns a job with the returns so far.
func (c *Client) Job(ctx context.Context, jid string) (*types.JobDetail, error) {
	var j types.JobDetail
	return &j, c.do(ctx, "GET", "/jobs/"+seg(jid), nil, nil, &j)
}

// WaitJob returns the job once it is complete. timeout > 0 bounds the wait
// on the server side: the job is then returned as it stands (status running).
func (c *Client) WaitJob(ctx context.Context, jid string, timeout time.Duration) (*types.JobDetail, error) {
	var q url.Values
	if timeout > 0 {
		q = url.Values{"timeout": {strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64)}}
	}
	var j types.JobDetail
	return &j, c.do(ctx, "GET", "/jobs/"+seg(jid)+"/wait", q, nil, &j)
}

// Jobs returns one page of job history, newest first; pass the answer's
// Next as f.Cursor for the following page.
func (c *Client) Jobs(ctx context.Context, f types.JobFilter) (*types.JobList, error) {
	var l types.JobList
	return &l, c.do(ctx, "GET", "/jobs", f.Query(), nil, &l)
}

// Minions returns the minions the token may see, sorted by id.
func (c *Client) Minions(ctx context.Context) ([]types.Minion, error) {
	var l types.MinionList
	err := c.do(ctx, "GET", "/minions", nil, nil, &l)
	return l.Minions, err
}

// Minion returns one minion with its grains.
func (c *Client) Minion(ctx context.Context, id string) (*types.Minion, error) {
	var m types.Minion
	return &m, c.do(ctx, "GET", "/minions/"+seg(id), nil, nil, &m)
}

// Keys returns minion keys, all of them or those in state ("pending", ...).
func (c *Client) Keys(ctx context.Context, state string) ([]types.Key, error) {
	var q url.Values
	if state != "" {
		q = url.Values{"state": {state}}
	}
	var l types.KeyList
	err := c.do(ctx, "GET", "/keys", q, nil, &l)
	return l.Keys, err
}

// Key returns one minion key with its fingerprint.
func (c *Client) Key(ctx context.Context, id string) (*types.Key, error) {
	var k types.Key
	return &k, c.do(ctx, "GET", "/keys/"+seg(id)+"/finger", nil, nil, &k)
}

// MasterKey returns the master's own key fingerprint.
func (c *Client) MasterKey(ctx context.Context) (*types.Key, error) {
	var k types.Key
	return &k, c.do(ctx, "GET", "/master/key", nil, nil, &k)
}

// AcceptKey accepts a minion key.
func (c *Client) AcceptKey(ctx context.Context, id string) (*types.Key, error) {
	var k types.Key
	return &k, c.do(ctx, "POST", "/keys/"+seg(id)+"/accept", nil, nil, &k)
}

// RejectKey rejects a minion key.
func (c *Client) RejectKey(ctx context.Context, id string) (*types.Key, error) {
	var k types.Key
	return &k, c.do(ctx, "POST", "/keys/"+seg(id)+"/reject", nil, nil, &k)
}

// DeleteKey deletes a minion key.
func (c *Client) DeleteKey(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/keys/"+seg(id), nil, nil, nil)
}

// AcceptAllKeys accepts every pending key and returns those it accepted.
func (c *Client) AcceptAllKeys(ctx context.Context) ([]types.Key, error) {
	return c.bulk(ctx, "accept-all")
}

// RejectAllKeys rejects every pending key and returns those it rejected.
func (c *Client) RejectAllKeys(ctx context.Context) ([]types.Key, error) {
	return c.bulk(ctx, "reject-all")
}

// DeleteAllKeys deletes every key and returns those it deleted.
func (c *Client) DeleteAllKeys(ctx context.Context) ([]types.Key, error) {
	return c.bulk(ctx, "delete-all")
}

func (c *Client) bulk(ctx context.Context, action string) ([]types.Key, error) {
	var l types.KeyList
	err := c.do(ctx, "POST", "/keys/"+action, nil, nil, &l)
	return l.Keys, err
}

// Hook fires the event brine/hook/<path> with body (any JSON value; nil
// sends an empty body, whose event data is null).
func (c *Client) Hook(ctx context.Context, path string, body any) (*types.HookResponse, error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range parts {
		parts[i] = seg(p)
	}
	var hr types.HookResponse
	return &hr, c.do(ctx, "POST", "/hooks/"+strings.Join(parts, "/"), nil, body, &hr)
}

// Health returns the master's health. A degraded master answers 503: the
// health body is then returned together with an *Error.
func (c *Client) Health(ctx context.Context) (*types.Health, error) {
	res, err := c.send(ctx, "GET", "/health", nil, nil)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("client: read health: %w", err)
	}
	var h types.Health
	hErr := json.Unmarshal(b, &h)
	if res.StatusCode == http.StatusOK {
		if hErr != nil {
			return nil, fmt.Errorf("client: decode health: %w", hErr)
		}
		return &h, nil
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	apiErr := readError(res)
	if hErr == nil && h.Status != "" {
		return &h, apiErr
	}
	return nil, apiErr
}
