package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/events"
)

const (
	adminSecret = "admin-secret"
	ciSecret    = "ci-secret"
)

type env struct {
	fake *fakeBackend
	bus  *events.Bus
	srv  *httptest.Server
}

func newEnv(t *testing.T, tweak func(*Config)) *env {
	t.Helper()
	fake := newFake("web1", "web2", "db1")
	bus := events.New(nil)
	cfg := Config{
		Backend: fake, Bus: bus, AdminToken: adminSecret,
		Tokens: []Token{{Name: "ci", TokenHash: HashToken(ciSecret),
			Permissions: []Permission{{Target: "web*", Functions: []string{`test\..*`}}}}},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { bus.Stop(); srv.Close() })
	return &env{fake: fake, bus: bus, srv: srv}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) apiError(t *testing.T) types.Error {
	t.Helper()
	var e types.Error
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return e
}

func (e *env) do(t *testing.T, ctx context.Context, method, path, token, body string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+Prefix+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	cases := []struct {
		name, token string
		want        int
	}{
		{"no token", "", 401},
		{"wrong token", "nope", 401},
		{"ci token", ciSecret, 200},
		{"admin token", adminSecret, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, t.Context(), "GET", "/health", c.token, "")
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r.body)
			}
			if c.want == 401 {
				if e := r.apiError(t); e.Code != types.CodeUnauthorized || r.header.Get("WWW-Authenticate") == "" {
					t.Fatalf("401 body %+v", e)
				}
			}
		})
	}
}

func TestJobACL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	cases := []struct {
		name, token, body string
		status            int
		mention           string // the 403/422 reason must name it
	}{
		{"test.ping on web*", ciSecret, `{"tgt":"web*","fun":"test.ping"}`, 202, ""},
		{"test.echo on a list of web", ciSecret, `{"tgt":"web1,web2","tgt_type":"list","fun":"test.echo","arg":["hi"]}`, 202, ""},
		{"cmd.run refused", ciSecret, `{"tgt":"web*","fun":"cmd.run","arg":["id"]}`, 403, `"cmd.run"`},
		{"anchored regex", ciSecret, `{"tgt":"web*","fun":"xtest.ping"}`, 403, "xtest.ping"},
		{"db* refused", ciSecret, `{"tgt":"db*","fun":"test.ping"}`, 403, `"db1"`},
		{"* refused for db1", ciSecret, `{"tgt":"*","fun":"test.ping"}`, 403, `"db1"`},
		{"no match", ciSecret, `{"tgt":"nothing*","fun":"test.ping"}`, 422, "nothing*"},
		{"admin may run anything", adminSecret, `{"tgt":"*","fun":"cmd.run","arg":["id"]}`, 202, ""},
		{"admin no match", adminSecret, `{"tgt":"nothing*","fun":"test.ping"}`, 422, ""},
		{"bad compound", adminSecret, `{"tgt":"((web","tgt_type":"compound","fun":"test.ping"}`, 400, "parentheses"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, t.Context(), "POST", "/jobs", c.token, c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if r.status >= 400 {
				if ae := r.apiError(t); !strings.Contains(ae.Error, c.mention) {
					t.Fatalf("reason %q does not mention %s", ae.Error, c.mention)
				}
				return
			}
			var j types.JobDetail
			if err := json.Unmarshal(r.body, &j); err != nil || j.JID == "" || j.Status != types.JobRunning || len(j.Expected) == 0 {
				t.Fatalf("job %+v, %v", j, err)
			}
			if loc := r.header.Get("Location"); loc != Prefix+"/jobs/"+j.JID {
				t.Fatalf("Location %q", loc)
			}
			wantUser := "ci"
			if c.token == adminSecret {
				wantUser = "admin"
			}
			if j.User != wantUser {
				t.Fatalf("user %q, want %q", j.User, wantUser)
			}
			// The backend learns which minions a restricted token was
			// authorized for, so it can publish to exactly those.
			e.fake.mu.Lock()
			allowed, restricted := e.fake.allowed, e.fake.restricted
			e.fake.mu.Unlock()
			if restricted != (c.token == ciSecret) || (restricted && strings.Join(allowed, ",") != strings.Join(j.Expected, ",")) {
				t.Fatalf("AuthorizedMinions = %v, %v; expected %v", allowed, restricted, j.Expected)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	cases := []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"unknown field", "POST", "/jobs", `{"tgt":"*","fun":"test.ping","target":"x"}`, 400, "target"},
		{"missing fun", "POST", "/jobs", `{"tgt":"*"}`, 400, "fun"},
		{"wrong type", "POST", "/jobs", `{"tgt":"*","fun":"test.ping","timeout":"soon"}`, 400, "timeout"},
		{"bad tgt_type", "POST", "/jobs", `{"tgt":"*","tgt_type":"regex","fun":"test.ping"}`, 400, "tgt_type"},
		{"not json", "POST", "/jobs", `tgt=*`, 400, ""},
		{"empty", "POST", "/jobs", ``, 400, ""},
		{"trailing", "POST", "/jobs", `{"tgt":"*","fun":"test.ping"} {}`, 400, ""},
		{"too big", "POST", "/jobs", `{"tgt":"*","fun":"test.ping","arg":["` + strings.Repeat("x", 2<<20) + `"]}`, 413, ""},
		{"bad since", "GET", "/jobs?since=yesterday", "", 400, "since"},
		{"bad limit", "GET", "/jobs?limit=-1", "", 400, "limit"},
		{"bad key state", "GET", "/keys?state=weird", "", 400, "state"},
		{"bad wait timeout", "GET", "/jobs/x/wait?timeout=abc", "", 404, ""}, // unknown job first
		{"unknown endpoint", "GET", "/nope", "", 404, ""},
		{"wrong method", "DELETE", "/jobs", "", 405, ""},
		{"unknown job", "GET", "/jobs/123", "", 404, ""},
		{"unknown minion", "GET", "/minions/zz", "", 404, ""},
		{"unknown key", "POST", "/keys/zz/accept", "", 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, t.Context(), c.method, c.path, adminSecret, c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			ae := r.apiError(t)
			if ae.Field != c.field || ae.Error == "" || ae.Code == "" {
				t.Fatalf("error %+v, want field %q", ae, c.field)
			}
		})
	}
}

func TestStoreDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.fake.storeDown = true
	r := e.do(t, t.Context(), "GET", "/jobs", adminSecret, "")
	if ae := r.apiError(t); r.status != 503 || ae.Code != types.CodeUnavailable || strings.Contains(ae.Error, "10.0.0.5") {
		t.Fatalf("status %d %+v (must not leak the backend's error text)", r.status, ae)
	}
	e.fake.degraded = true
	if r := e.do(t, t.Context(), "GET", "/health", adminSecret, ""); r.status != 503 || !bytes.Contains(r.body, []byte(`"degraded"`)) {
		t.Fatalf("health %d %s", r.status, r.body)
	}
}

func TestPostJobWait(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	type result struct {
		r resp
	}
	got := make(chan result, 1)
	go func() {
		got <- result{e.do(t, context.Background(), "POST", "/jobs", ciSecret, `{"tgt":"web*","fun":"test.ping","wait":true}`)}
	}()
	jid := recvJID(t, e.fake.submitted)
	e.fake.complete(jid, map[string]types.MinionReturn{"web1": {Return: true, Success: true, Duration: 0.01}})
	var res result
	select {
	case res = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("POST with wait did not answer after completion")
	}
	var j types.JobDetail
	if err := json.Unmarshal(res.r.body, &j); err != nil || res.r.status != 200 {
		t.Fatalf("status %d body %s: %v", res.r.status, res.r.body, err)
	}
	if j.Status != types.JobComplete || j.Returns["web1"].Return != true || len(j.NoReturn) != 1 || j.NoReturn[0].Minion != "web2" {
		t.Fatalf("job %+v", j)
	}
}

func TestPostJobWaitHonorsContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+Prefix+"/jobs", strings.NewReader(`{"tgt":"*","fun":"test.sleep","arg":[60],"wait":true}`))
		req.Header.Set("Authorization", "Bearer "+adminSecret)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		errc <- err
	}()
	recvJID(t, e.fake.submitted)
	cancel()
	select {
	case err := <-e.fake.waitReturns:
		if err == nil {
			t.Fatal("Wait returned without error although the job never completed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server kept waiting after the client went away")
	}
	if err := <-errc; err == nil {
		t.Fatal("client request did not fail on cancel")
	}
}

func TestWaitEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.do(t, t.Context(), "POST", "/jobs", adminSecret, `{"tgt":"web1","fun":"test.ping"}`)
	jid := recvJID(t, e.fake.submitted)
	if r.status != 202 {
		t.Fatalf("submit %d", r.status)
	}
	// A bounded wait on a running job answers with the job as it stands.
	r = e.do(t, t.Context(), "GET", "/jobs/"+jid+"/wait?timeout=0.01", adminSecret, "")
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"status":"running"`)) {
		t.Fatalf("bounded wait %d %s", r.status, r.body)
	}
	if r := e.do(t, t.Context(), "GET", "/jobs/"+jid+"/wait?timeout=-1", adminSecret, ""); r.status != 400 {
		t.Fatalf("negative timeout %d", r.status)
	}
	e.fake.complete(jid, map[string]types.MinionReturn{"web1": {Return: true, Success: true}})
	r = e.do(t, t.Context(), "GET", "/jobs/"+jid+"/wait", adminSecret, "")
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"status":"complete"`)) {
		t.Fatalf("wait %d %s", r.status, r.body)
	}
	// A restricted token does not see the admin's job at all.
	if r := e.do(t, t.Context(), "GET", "/jobs/"+jid, ciSecret, ""); r.status != 404 {
		t.Fatalf("ci sees admin job: %d", r.status)
	}
	if r := e.do(t, t.Context(), "GET", "/jobs/"+jid+"/wait", ciSecret, ""); r.status != 404 {
		t.Fatalf("ci waits on admin job: %d", r.status)
	}
}

func TestJobListVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, tok := range []string{adminSecret, ciSecret, ciSecret} {
		if r := e.do(t, t.Context(), "POST", "/jobs", tok, `{"tgt":"web1","fun":"test.ping"}`); r.status != 202 {
			t.Fatalf("submit %d %s", r.status, r.body)
		}
	}
	list := func(tok, q string) (int, types.JobList) {
		r := e.do(t, t.Context(), "GET", "/jobs"+q, tok, "")
		var l types.JobList
		_ = json.Unmarshal(r.body, &l)
		return r.status, l
	}
	if st, l := list(adminSecret, ""); st != 200 || len(l.Jobs) != 3 {
		t.Fatalf("admin list %d %d", st, len(l.Jobs))
	}
	if st, l := list(ciSecret, ""); st != 200 || len(l.Jobs) != 2 || l.Jobs[0].User != "ci" {
		t.Fatalf("ci list %d %+v", st, l)
	}
	if st, l := list(adminSecret, "?limit=1"); st != 200 || len(l.Jobs) != 1 || l.Next == "" {
		t.Fatalf("paged list %d %+v", st, l)
	}
	if st, _ := list(ciSecret, "?user=admin"); st != 403 {
		t.Fatalf("ci listing admin's jobs: %d", st)
	}
}

func TestMinionsVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	var l types.MinionList
	r := e.do(t, t.Context(), "GET", "/minions", ciSecret, "")
	if err := json.Unmarshal(r.body, &l); err != nil || len(l.Minions) != 2 || l.Minions[0].ID != "web1" {
		t.Fatalf("ci minions %s", r.body)
	}
	if r := e.do(t, t.Context(), "GET", "/minions/db1", ciSecret, ""); r.status != 404 {
		t.Fatalf("ci sees db1: %d", r.status)
	}
	r = e.do(t, t.Context(), "GET", "/minions/db1", adminSecret, "")
	var m types.Minion
	if err := json.Unmarshal(r.body, &m); err != nil || m.ID != "db1" || m.Grains["os"] != "Debian" {
		t.Fatalf("admin db1: %s", r.body)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.fake.keys["new1"] = types.Key{ID: "new1", State: types.KeyPending}
	e.fake.keys["new2"] = types.Key{ID: "new2", State: types.KeyPending}
	e.fake.keys["bad"] = types.Key{ID: "bad", State: types.KeyDenied}
	steps := []struct {
		name, method, path, token string
		status                    int
		contains                  string
	}{
		{"ci may not list", "GET", "/keys", ciSecret, 403, "admin"},
		{"ci may see the master key", "GET", "/master/key", ciSecret, 200, `"state":"master"`},
		{"pending list", "GET", "/keys?state=pending", adminSecret, 200, `"new1"`},
		{"finger", "GET", "/keys/web1/finger", adminSecret, 200, `"ab:cd:web1"`},
		{"accept one", "POST", "/keys/new1/accept", adminSecret, 200, `"accepted"`},
		{"conflict", "POST", "/keys/bad/accept", adminSecret, 409, "denied"},
		{"accept all pending", "POST", "/keys/accept-all", adminSecret, 200, `{"keys":[{"id":"new2","state":"accepted"`},
		{"nothing pending left", "POST", "/keys/reject-all", adminSecret, 200, `{"keys":[]}`},
		{"reject", "POST", "/keys/web2/reject", adminSecret, 200, `"rejected"`},
		{"delete", "DELETE", "/keys/web2", adminSecret, 204, ""},
		{"deleted", "GET", "/keys/web2", adminSecret, 404, ""},
	}
	for _, s := range steps {
		r := e.do(t, t.Context(), s.method, s.path, s.token, "")
		if r.status != s.status || !bytes.Contains(r.body, []byte(s.contains)) {
			t.Fatalf("%s: %d %s (want %d containing %s)", s.name, r.status, r.body, s.status, s.contains)
		}
	}
	r := e.do(t, t.Context(), "POST", "/keys/delete-all", adminSecret, "")
	if r.status != 200 || len(e.fake.keys) != 0 {
		t.Fatalf("delete-all %d %s, left %v", r.status, r.body, e.fake.keys)
	}
}

func recvJID(t *testing.T, c <-chan string) string {
	t.Helper()
	select {
	case jid := <-c:
		return jid
	case <-time.After(10 * time.Second):
		t.Fatal("no job submitted")
	}
	return ""
}
