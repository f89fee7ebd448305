package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/jobstore"
)

func jids(js []jobstore.Job) []string {
	out := []string{}
	for _, j := range js {
		out = append(out, j.JID)
	}
	return out
}

func testListJobsFilters(t *testing.T, s jobstore.Store) {
	// j1: test.ping by admin to web*, a ok b ok          → all success
	// j2: cmd.run by deployer to db*, a failed            → failure
	// j3: cmd.run by admin, expected c, c never returned  → no-return
	// j4: test.ping by admin, expected d, no returns yet  → neither
	// j5: test.ping by admin, return from e (not expected)
	j1 := newJob(1, "test.ping", "a", "b")
	j1.Tgt = "web*"
	j2 := newJob(2, "cmd.run", "a")
	j2.Tgt, j2.User = "db*", "deployer"
	j3 := newJob(3, "cmd.run", "c")
	j4 := newJob(4, "test.ping", "d")
	j5 := newJob(5, "test.ping")
	for _, j := range []jobstore.Job{j1, j2, j3, j4, j5} {
		mustCreate(t, s, j)
	}
	mustReturns(t, s, ret(j1.JID, "a", true), ret(j1.JID, "b", true), ret(j2.JID, "a", false), ret(j5.JID, "e", true))
	if err := s.FinishJob(ctx(t), j3.JID, jobstore.StatusComplete, []jobstore.NoReturn{{Minion: "c", Reason: jobstore.ReasonNoResponse}}, base); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	cases := []struct {
		name string
		f    jobstore.JobFilter
		want []jobstore.Job
	}{
		{"all", jobstore.JobFilter{}, []jobstore.Job{j5, j4, j3, j2, j1}},
		{"fun", jobstore.JobFilter{Fun: "cmd.run"}, []jobstore.Job{j3, j2}},
		{"user", jobstore.JobFilter{User: "deployer"}, []jobstore.Job{j2}},
		{"target", jobstore.JobFilter{Target: "web*"}, []jobstore.Job{j1}},
		{"minion expected", jobstore.JobFilter{Minion: "a"}, []jobstore.Job{j2, j1}},
		{"minion only returned", jobstore.JobFilter{Minion: "e"}, []jobstore.Job{j5}},
		{"minion unknown", jobstore.JobFilter{Minion: "zz"}, nil},
		{"since", jobstore.JobFilter{Since: j3.Created}, []jobstore.Job{j5, j4, j3}},
		{"until", jobstore.JobFilter{Until: j3.Created}, []jobstore.Job{j2, j1}},
		{"since until", jobstore.JobFilter{Since: j2.Created, Until: j4.Created}, []jobstore.Job{j3, j2}},
		{"success true", jobstore.JobFilter{Success: &yes}, []jobstore.Job{j5, j1}},
		{"success false", jobstore.JobFilter{Success: &no}, []jobstore.Job{j3, j2}},
		{"minion success false", jobstore.JobFilter{Minion: "a", Success: &no}, []jobstore.Job{j2}},
		{"minion success true", jobstore.JobFilter{Minion: "a", Success: &yes}, []jobstore.Job{j1}},
		{"combined", jobstore.JobFilter{Fun: "test.ping", User: "admin", Minion: "b", Success: &yes}, []jobstore.Job{j1}},
		{"cursor", jobstore.JobFilter{Cursor: j3.JID}, []jobstore.Job{j2, j1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, next, err := s.ListJobs(ctx(t), tc.f)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			if next != "" {
				t.Errorf("next = %q, want last page", next)
			}
			if !reflect.DeepEqual(jids(got), jids(tc.want)) {
				t.Fatalf("jobs = %v, want %v", jids(got), jids(tc.want))
			}
			for i, j := range got {
				w := tc.want[i]
				w.Expected, w.Status, w.Finished = nil, j.Status, j.Finished
				if !reflect.DeepEqual(j, w) {
					t.Errorf("listed job:\n got %#v\nwant %#v", j, w)
				}
			}
		})
	}
}

func testListJobsPaging(t *testing.T, s jobstore.Store) {
	const n = 23
	var want []string
	for i := n; i >= 1; i-- {
		want = append(want, newJob(i, "test.ping").JID)
	}
	for i := 1; i <= n; i++ {
		mustCreate(t, s, newJob(i, "test.ping", "a"))
	}
	for _, limit := range []int{1, 5, 23, 100} {
		t.Run("limit", func(t *testing.T) {
			var got []string
			cursor, pages := "", 0
			for {
				page, next, err := s.ListJobs(ctx(t), jobstore.JobFilter{Minion: "a", Limit: limit, Cursor: cursor})
				if err != nil {
					t.Fatalf("list: %v", err)
				}
				pages++
				if len(page) > limit || (next != "" && len(page) != limit) {
					t.Fatalf("page of %d with limit %d, next %q", len(page), limit, next)
				}
				got = append(got, jids(page)...)
				if next == "" {
					break
				}
				if pages > n+1 {
					t.Fatal("paging does not end")
				}
				cursor = next
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("limit %d: paged %v, want %v", limit, got, want)
			}
		})
	}
}

func testEvents(t *testing.T, s jobstore.Store) {
	tags := []string{"salt/job/1/new", "salt/job/1/ret/a", "salt/auth", "salt/job/2/ret/b", "brine/hook/ci"}
	var evs []jobstore.Event
	for i, tag := range tags {
		evs = append(evs, jobstore.Event{Tag: tag, Data: []byte(`{"n":` + string(rune('0'+i)) + `}`), Time: base.Add(time.Duration(i) * time.Millisecond), Master: "m1"})
	}
	if err := s.AddEvents(ctx(t), evs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvents(ctx(t), evs[2:]); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListEvents(ctx(t), 0, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(tags) {
		t.Fatalf("listed %d events, want %d", len(all), len(tags))
	}
	for i, e := range all {
		if e.Tag != tags[i] || !jsonEqual(e.Data, evs[i].Data) || !e.Time.Equal(evs[i].Time) || e.Master != "m1" {
			t.Errorf("event %d = %+v (%s)", i, e, e.Data)
		}
		if i > 0 && e.ID <= all[i-1].ID {
			t.Errorf("event ids not increasing: %d after %d", e.ID, all[i-1].ID)
		}
	}
	cases := []struct {
		name  string
		since int64
		glob  string
		limit int
		want  []string
	}{
		{"glob", 0, "salt/job/*/ret/*", 0, []string{tags[1], tags[3]}},
		{"since", all[1].ID, "", 0, tags[2:]},
		{"limit", 0, "", 2, tags[:2]},
		{"question mark", 0, "salt/job/?/new", 0, tags[:1]},
		{"class", 0, "salt/job/[2-9]/*", 0, tags[3:4]},
		{"negated class", 0, "salt/job/[!2]/*", 0, tags[:2]},
		{"none", 0, "nothing/*", 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListEvents(ctx(t), tc.since, tc.glob, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var gt []string
			for _, e := range got {
				gt = append(gt, e.Tag)
			}
			if !reflect.DeepEqual(gt, tc.want) {
				t.Errorf("tags = %v, want %v", gt, tc.want)
			}
		})
	}
}

func testMinions(t *testing.T, s jobstore.Store) {
	c := ctx(t)
	ms := []jobstore.Minion{
		{ID: "web2", Grains: map[string]any{"os": "Debian", "num_cpus": 2.0, "ipv4": []any{"10.0.0.2"}}, LastSeen: base, Connected: true, Master: "m1"},
		{ID: "web1", Grains: map[string]any{"os": "Ubuntu"}, LastSeen: base, Connected: true, Master: "m1"},
	}
	if err := s.UpsertMinions(c, ms); err != nil {
		t.Fatal(err)
	}
	// A heartbeat without grains keeps them; the connection moves to m2.
	later := base.Add(time.Minute)
	if err := s.UpsertMinions(c, []jobstore.Minion{{ID: "web2", LastSeen: later, Connected: false, Master: "m2"}}); err != nil {
		t.Fatal(err)
	}
	// A fresh minion without grains gets an empty map.
	if err := s.UpsertMinions(c, []jobstore.Minion{{ID: "db1", LastSeen: later}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListMinions(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []jobstore.Minion{
		{ID: "db1", Grains: map[string]any{}, LastSeen: later},
		ms[1],
		{ID: "web2", Grains: ms[0].Grains, LastSeen: later, Connected: false, Master: "m2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("minions:\n got %#v\nwant %#v", got, want)
	}
	m, err := s.GetMinion(c, "web1")
	if err != nil || !reflect.DeepEqual(*m, ms[1]) {
		t.Errorf("get web1 = %#v, %v", m, err)
	}
	if _, err := s.GetMinion(c, "nope"); !errorsIs(err, jobstore.ErrNotFound) {
		t.Errorf("get unknown: err = %v, want ErrNotFound", err)
	}
}

func testPrune(t *testing.T, s jobstore.Store) {
	const keep = 90 * 24 * time.Hour
	old := newJob(1, "test.ping", "a")
	old.Created = base.Add(-100 * 24 * time.Hour)
	old.JID = JID(old.Created, 1)
	fresh := newJob(2, "test.ping", "a")
	for _, j := range []jobstore.Job{old, fresh} {
		mustCreate(t, s, j)
	}
	oldRet := ret(old.JID, "a", true)
	oldRet.Received = old.Created
	orphan := ret(JID(old.Created, 9), "a", true) // a return whose job never got stored
	orphan.Received = old.Created
	mustReturns(t, s, oldRet, orphan, ret(fresh.JID, "a", true))
	if err := s.FinishJob(ctx(t), old.JID, jobstore.StatusComplete, []jobstore.NoReturn{{Minion: "b", Reason: jobstore.ReasonNoResponse}}, old.Created); err != nil {
		t.Fatal(err)
	}
	evs := []jobstore.Event{{Tag: "old", Time: old.Created}, {Tag: "new", Time: base}}
	if err := s.AddEvents(ctx(t), evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Prune(ctx(t), base, keep); err != nil {
		t.Fatalf("prune: %v", err)
	}
	if _, err := s.GetJob(ctx(t), old.JID); !errorsIs(err, jobstore.ErrNotFound) {
		t.Errorf("old job after prune: err = %v, want ErrNotFound", err)
	}
	d, err := s.GetJob(ctx(t), fresh.JID)
	if err != nil || len(d.Returns) != 1 {
		t.Fatalf("fresh job after prune: %v, %v", d, err)
	}
	// The old job's returns are gone too: re-creating the job shows none.
	mustCreate(t, s, old)
	if d, err := s.GetJob(ctx(t), old.JID); err != nil || len(d.Returns) != 0 || len(d.NoReturn) != 0 {
		t.Errorf("old job's records survived prune: %+v, %v", d, err)
	}
	got, err := s.ListEvents(ctx(t), 0, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Tag != "new" {
		t.Errorf("events after prune = %v, want only new", got)
	}
	// The orphan return is gone: a job with its JID has no returns.
	orphanJob := newJob(9, "test.ping")
	orphanJob.JID, orphanJob.Created = orphan.JID, old.Created
	mustCreate(t, s, orphanJob)
	if d, err := s.GetJob(context.Background(), orphan.JID); err != nil || len(d.Returns) != 0 {
		t.Errorf("orphan return survived prune: %+v, %v", d, err)
	}
}
