package api

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/api/client"
	"github.com/brine-project/brine/pkg/api/types"
)

// TestClient drives every client method against the real handler and the
// fake backend: the client and the server agree on the wire format.
func TestClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.fake.keys["new1"] = types.Key{ID: "new1", State: types.KeyPending}
	ctx := t.Context()
	c := client.New(e.srv.URL+"/", adminSecret, nil)

	job, err := c.SubmitJob(ctx, types.JobRequest{Tgt: "web*", Fun: "test.ping"})
	if err != nil || job.Status != types.JobRunning || len(job.Expected) != 2 {
		t.Fatalf("SubmitJob = %+v, %v", job, err)
	}
	recvJID(t, e.fake.submitted)
	if got, err := c.WaitJob(ctx, job.JID, 10*time.Millisecond); err != nil || got.Status != types.JobRunning {
		t.Fatalf("bounded WaitJob = %+v, %v", got, err)
	}
	e.fake.complete(job.JID, map[string]types.MinionReturn{"web1": {Return: true, Success: true}, "web2": {Return: true, Success: true}})
	if got, err := c.WaitJob(ctx, job.JID, 0); err != nil || !got.Succeeded() {
		t.Fatalf("WaitJob = %+v, %v", got, err)
	}
	if got, err := c.Job(ctx, job.JID); err != nil || got.JID != job.JID {
		t.Fatalf("Job = %+v, %v", got, err)
	}
	if l, err := c.Jobs(ctx, types.JobFilter{Fun: "test.ping", Limit: 5}); err != nil || len(l.Jobs) != 1 {
		t.Fatalf("Jobs = %+v, %v", l, err)
	}
	if ms, err := c.Minions(ctx); err != nil || len(ms) != 3 {
		t.Fatalf("Minions = %+v, %v", ms, err)
	}
	if m, err := c.Minion(ctx, "db1"); err != nil || m.ID != "db1" {
		t.Fatalf("Minion = %+v, %v", m, err)
	}
	if _, err := c.Minion(ctx, "nope"); !client.IsNotFound(err) {
		t.Fatalf("Minion(nope) error = %v", err)
	}
	if ks, err := c.Keys(ctx, "pending"); err != nil || len(ks) != 1 || ks[0].ID != "new1" {
		t.Fatalf("Keys = %+v, %v", ks, err)
	}
	if k, err := c.Key(ctx, "web1"); err != nil || k.Fingerprint != "ab:cd:web1" {
		t.Fatalf("Key = %+v, %v", k, err)
	}
	if k, err := c.MasterKey(ctx); err != nil || k.State != types.KeyMaster {
		t.Fatalf("MasterKey = %+v, %v", k, err)
	}
	if ks, err := c.AcceptAllKeys(ctx); err != nil || len(ks) != 1 {
		t.Fatalf("AcceptAllKeys = %+v, %v", ks, err)
	}
	if ks, err := c.RejectAllKeys(ctx); err != nil || len(ks) != 0 {
		t.Fatalf("RejectAllKeys = %+v, %v", ks, err)
	}
	if k, err := c.RejectKey(ctx, "new1"); err != nil || k.State != types.KeyRejected {
		t.Fatalf("RejectKey = %+v, %v", k, err)
	}
	if k, err := c.AcceptKey(ctx, "new1"); err != nil || k.State != types.KeyAccepted {
		t.Fatalf("AcceptKey = %+v, %v", k, err)
	}
	if err := c.DeleteKey(ctx, "new1"); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	if ks, err := c.DeleteAllKeys(ctx); err != nil || len(ks) != 3 {
		t.Fatalf("DeleteAllKeys = %+v, %v", ks, err)
	}
	if h, err := c.Health(ctx); err != nil || h.Status != types.HealthOK {
		t.Fatalf("Health = %+v, %v", h, err)
	}
	e.fake.degraded = true
	if h, err := c.Health(ctx); err == nil || h == nil || h.Status != types.HealthDegraded {
		t.Fatalf("degraded Health = %+v, %v", h, err)
	}

	evs, err := c.Events(ctx, "brine/hook/*")
	if err != nil {
		t.Fatal(err)
	}
	// The server subscribes before it sends the stream's headers, which
	// Events waited for: the hook below cannot be missed.
	var apiErr *client.Error
	if _, err := c.Hook(ctx, "ci/build done", nil); !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Field != "path" {
		t.Fatalf("bad hook path error = %v", err)
	}
	hr, err := c.Hook(ctx, "ci/build", map[string]string{"ok": "yes"})
	if err != nil || hr.Tag != "brine/hook/ci/build" {
		t.Fatalf("Hook = %+v, %v", hr, err)
	}
	select {
	case ev := <-evs:
		if ev.Tag != "brine/hook/ci/build" || string(ev.Data) != `{"ok":"yes"}` {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event from the stream")
	}
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := t.Context()
	var apiErr *client.Error

	_, err := client.New(e.srv.URL, "wrong", nil).Minions(ctx)
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized || apiErr.Code != types.CodeUnauthorized {
		t.Fatalf("bad token error = %v", err)
	}
	ci := client.New(e.srv.URL, ciSecret, nil)
	_, err = ci.SubmitJob(ctx, types.JobRequest{Tgt: "*", Fun: "test.ping"})
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Fatalf("ACL error = %v", err)
	}
	if _, err := ci.Events(ctx, ""); err != nil {
		t.Fatalf("ci may stream events: %v", err)
	}
	if _, err := client.New(e.srv.URL, "wrong", nil).Events(ctx, ""); !errors.As(err, &apiErr) || apiErr.Status != 401 {
		t.Fatalf("Events with bad token = %v", err)
	}
	dead := client.New("http://127.0.0.1:1", adminSecret, nil)
	if _, err := dead.Minions(ctx); err == nil || errors.As(err, &apiErr) {
		t.Fatalf("unreachable master error = %v", err)
	}
	// Events ends when its context does.
	cctx, cancel := context.WithCancel(ctx)
	evs, err := client.New(e.srv.URL, adminSecret, nil).Events(cctx, "")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-evs:
		for ok {
			_, ok = <-evs
		}
	case <-time.After(10 * time.Second):
		t.Fatal("event channel not closed after cancel")
	}
}
