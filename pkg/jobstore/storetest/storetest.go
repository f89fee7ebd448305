// Package storetest is the conformance suite every jobstore.Store
// implementation passes. Run it from the implementation's tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) jobstore.Store { return openFresh(t) })
//	}
//
// The open function must return an empty store that the test owns (the
// suite closes it); each subtest gets its own.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/jobstore"
)

// Opener returns a fresh, empty store for one test.
type Opener func(t *testing.T) jobstore.Store

// Run runs the whole suite, one subtest per behaviour.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s jobstore.Store)
	}{
		{"JobRoundTrip", testJobRoundTrip},
		{"CreateJobErrors", testCreateJobErrors},
		{"FinishJob", testFinishJob},
		{"JobCounts", testJobCounts},
		{"Returns", testReturns},
		{"ListJobsFilters", testListJobsFilters},
		{"ListJobsPaging", testListJobsPaging},
		{"Events", testEvents},
		{"Minions", testMinions},
		{"Prune", testPrune},
		{"JSONShape", testJSONShape},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			if err := s.Health(context.Background()); err != nil {
				t.Fatalf("health: %v", err)
			}
			tc.fn(t, s)
		})
	}
}

// base is "now" for the suite, truncated to microseconds (PostgreSQL's
// precision) so round trips compare equal.
var base = time.Now().UTC().Truncate(time.Microsecond)

// JID returns a time-ordered JID for t, in the master's format, with a
// suffix n; other packages' tests may use it.
func JID(t time.Time, n int) string {
	t = t.UTC()
	return fmt.Sprintf("%s%06d_%04d", t.Format("20060102150405"), t.Nanosecond()/1000, n)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustCreate(t *testing.T, s jobstore.Store, j jobstore.Job) {
	t.Helper()
	if err := s.CreateJob(ctx(t), j); err != nil {
		t.Fatalf("create job %s: %v", j.JID, err)
	}
}

func mustReturns(t *testing.T, s jobstore.Store, rs ...jobstore.Return) {
	t.Helper()
	if err := s.AddReturns(ctx(t), rs); err != nil {
		t.Fatalf("add returns: %v", err)
	}
}

func newJob(n int, fun string, expected ...string) jobstore.Job {
	created := base.Add(time.Duration(n) * time.Second)
	return jobstore.Job{
		JID: JID(created, n), Fun: fun, Arg: []any{}, Kwarg: map[string]any{},
		Tgt: "*", TgtType: "glob", User: "admin", Master: "m1",
		Created: created, Timeout: 5 * time.Second, Status: jobstore.StatusRunning,
		Expected: expected,
	}
}

func ret(jid, minion string, ok bool) jobstore.Return {
	rc := 0
	if !ok {
		rc = 1
	}
	return jobstore.Return{JID: jid, Minion: minion, Success: ok, Retcode: rc,
		Return: json.RawMessage(`true`), Duration: 1500 * time.Millisecond, Received: base}
}

func testJobRoundTrip(t *testing.T, s jobstore.Store) {
	j := newJob(1, "cmd.run", "web2", "web1")
	j.Arg = []any{"uname -a", 3.5, true, nil, []any{"x"}}
	j.Kwarg = map[string]any{"cwd": "/tmp", "env": map[string]any{"A": "b"}}
	j.Tgt, j.TgtType, j.User = "web*", "glob", "deployer"
	mustCreate(t, s, j)
	d, err := s.GetJob(ctx(t), j.JID)
	if err != nil {
		t.Fatalf("get job: %v", err)
	}
	j.Expected = []string{"web1", "web2"} // stored sorted
	if !reflect.DeepEqual(d.Job, j) {
		t.Errorf("job round trip:\n got %#v\nwant %#v", d.Job, j)
	}
	if d.Returns == nil || len(d.Returns) != 0 || d.NoReturn == nil || len(d.NoReturn) != 0 {
		t.Errorf("returns/no_return = %v/%v, want empty non-nil", d.Returns, d.NoReturn)
	}
	if _, err := s.GetJob(ctx(t), "nope"); !errors.Is(err, jobstore.ErrNotFound) {
		t.Errorf("get unknown job: err = %v, want ErrNotFound", err)
	}
}

func testCreateJobErrors(t *testing.T, s jobstore.Store) {
	j := newJob(1, "test.ping", "a")
	mustCreate(t, s, j)
	cases := []struct {
		name string
		job  jobstore.Job
		want error
	}{
		{"duplicate", j, jobstore.ErrExists},
		{"empty jid", jobstore.Job{Fun: "test.ping"}, jobstore.ErrInvalid},
		{"unencodable kwarg", jobstore.Job{JID: "x", Kwarg: map[string]any{"c": make(chan int)}}, jobstore.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.CreateJob(ctx(t), tc.job); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func testFinishJob(t *testing.T, s jobstore.Store) {
	j := newJob(1, "test.ping", "a", "b", "c")
	mustCreate(t, s, j)
	mustReturns(t, s, ret(j.JID, "a", true))
	at := base.Add(time.Minute)
	nr := []jobstore.NoReturn{{Minion: "b", Reason: jobstore.ReasonNoResponse}, {Minion: "c", Reason: jobstore.ReasonNotConnected}}
	if err := s.FinishJob(ctx(t), j.JID, jobstore.StatusComplete, nr, at); err != nil {
		t.Fatalf("finish: %v", err)
	}
	d, err := s.GetJob(ctx(t), j.JID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if d.Status != jobstore.StatusComplete || d.Finished == nil || !d.Finished.Equal(at) {
		t.Errorf("status %q finished %v, want complete at %v", d.Status, d.Finished, at)
	}
	if !reflect.DeepEqual(d.NoReturn, nr) {
		t.Errorf("no_return = %v, want %v", d.NoReturn, nr)
	}
	if len(d.Returns) != 1 || d.Returns[0].Minion != "a" {
		t.Errorf("returns = %v, want a's", d.Returns)
	}
	if err := s.FinishJob(ctx(t), "nope", jobstore.StatusComplete, nil, at); !errors.Is(err, jobstore.ErrNotFound) {
		t.Errorf("finish unknown: err = %v, want ErrNotFound", err)
	}
}

func testJobCounts(t *testing.T, s jobstore.Store) {
	j1 := newJob(1, "test.ping", "a", "b", "c")
	j2 := newJob(2, "cmd.run", "a")
	mustCreate(t, s, j1)
	mustCreate(t, s, j2)
	mustReturns(t, s, ret(j1.JID, "a", true), ret(j1.JID, "b", false))
	if err := s.FinishJob(ctx(t), j1.JID, jobstore.StatusComplete,
		[]jobstore.NoReturn{{Minion: "c", Reason: jobstore.ReasonNoResponse}}, base); err != nil {
		t.Fatal(err)
	}
	got, err := s.JobCounts(ctx(t), []string{j1.JID, j2.JID, "unknown"})
	if err != nil {
		t.Fatalf("counts: %v", err)
	}
	want := map[string]jobstore.Counts{
		j1.JID: {Expected: 3, Returned: 2, Succeeded: 1, NoReturn: 1},
		j2.JID: {Expected: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	if got, err := s.JobCounts(ctx(t), nil); err != nil || len(got) != 0 {
		t.Errorf("no jids: %v, %v", got, err)
	}
}

func testReturns(t *testing.T, s jobstore.Store) {
	j := newJob(1, "cmd.run", "a", "b")
	// A return may arrive before its job row.
	early := ret(j.JID, "b", false)
	early.Return = json.RawMessage(`{"stdout":"x","nested":[1,2,{"k":null}]}`)
	early.Retcode = 2
	mustReturns(t, s, early)
	mustCreate(t, s, j)
	empty := ret(j.JID, "a", true)
	empty.Return = nil
	dup := ret(j.JID, "b", true) // duplicate (jid, minion): ignored, first one wins
	mustReturns(t, s, empty, dup, empty)
	d, err := s.GetJob(ctx(t), j.JID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if len(d.Returns) != 2 {
		t.Fatalf("returns = %d, want 2: %v", len(d.Returns), d.Returns)
	}
	a, b := d.Returns[0], d.Returns[1]
	if string(a.Return) != "null" || !a.Success || a.Duration != 1500*time.Millisecond || !a.Received.Equal(base) {
		t.Errorf("return a = %+v (%s)", a, a.Return)
	}
	var got, want any
	_ = json.Unmarshal(b.Return, &got)
	_ = json.Unmarshal(early.Return, &want)
	if b.Success || b.Retcode != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("return b = %+v (%s), want the first one stored", b, b.Return)
	}
	bad := ret(j.JID, "c", true)
	bad.Return = json.RawMessage(`{not json`)
	if err := s.AddReturns(ctx(t), []jobstore.Return{bad}); !errors.Is(err, jobstore.ErrInvalid) {
		t.Errorf("invalid JSON: err = %v, want ErrInvalid", err)
	}
	if err := s.AddReturns(ctx(t), nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}
