package types

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		req   JobRequest
		field string // "" = valid
	}{
		{"defaults glob", JobRequest{Tgt: "*", Fun: "test.ping"}, ""},
		{"no tgt", JobRequest{Fun: "test.ping"}, "tgt"},
		{"blank tgt", JobRequest{Tgt: "  ", Fun: "test.ping"}, "tgt"},
		{"bad tgt_type", JobRequest{Tgt: "*", TgtType: "regex", Fun: "test.ping"}, "tgt_type"},
		{"no fun", JobRequest{Tgt: "*"}, "fun"},
		{"undotted fun", JobRequest{Tgt: "*", Fun: "ping"}, "fun"},
		{"negative timeout", JobRequest{Tgt: "*", Fun: "test.ping", Timeout: -1}, "timeout"},
		{"compound", JobRequest{Tgt: "web* and G@os:Debian", TgtType: TgtCompound, Fun: "cmd.run"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.req.Normalize()
			if c.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if c.req.TgtType == "" {
					t.Fatal("tgt_type not defaulted")
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("error %v, want field %q", err, c.field)
			}
		})
	}
}

func TestJobFilterRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	yes := false
	f := JobFilter{Fun: "test.ping", Minion: "web1", User: "ci", Since: now.Add(-time.Hour), Until: now, Success: &yes, Limit: 50, Cursor: "abc"}
	got, err := ParseJobFilter(f.Query(), now)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, f)
	}
	rel, err := ParseJobFilter(map[string][]string{"since": {"2h"}}, now)
	if err != nil || !rel.Since.Equal(now.Add(-2*time.Hour)) {
		t.Fatalf("relative since = %v, %v", rel.Since, err)
	}
	for _, bad := range []map[string][]string{
		{"since": {"yesterday"}}, {"until": {"x"}}, {"success": {"maybe"}}, {"limit": {"0"}}, {"limit": {"100000"}},
	} {
		if _, err := ParseJobFilter(bad, now); err == nil {
			t.Errorf("ParseJobFilter(%v) accepted", bad)
		}
	}
}

func TestSucceeded(t *testing.T) {
	t.Parallel()
	ok := MinionReturn{Success: true}
	cases := []struct {
		name string
		j    JobDetail
		want bool
	}{
		{"all ok", JobDetail{Status: JobComplete, Expected: []string{"a", "b"}, Returns: map[string]MinionReturn{"a": ok, "b": ok}}, true},
		{"running", JobDetail{Status: JobRunning, Expected: []string{"a"}, Returns: map[string]MinionReturn{"a": ok}}, false},
		{"one failed", JobDetail{Status: JobComplete, Expected: []string{"a", "b"}, Returns: map[string]MinionReturn{"a": ok, "b": {Retcode: 1}}}, false},
		{"no return", JobDetail{Status: JobComplete, Expected: []string{"a", "b"}, Returns: map[string]MinionReturn{"a": ok}, NoReturn: []NoReturnEntry{{"b", NoReturnNoResponse}}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.j.Succeeded(); got != c.want {
				t.Fatalf("Succeeded = %v", got)
			}
		})
	}
}
