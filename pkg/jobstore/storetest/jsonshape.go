package storetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/brine-project/brine/pkg/jobstore"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// jsonEqual compares JSON documents by value: stores may normalize
// spacing and key order (PostgreSQL's jsonb does).
func jsonEqual(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// testJSONShape checks the JSON the API serves for a stored job: keys named
// as documented, durations in float seconds, returns raw JSON.
func testJSONShape(t *testing.T, s jobstore.Store) {
	j := newJob(1, "cmd.run", "a")
	j.Arg = []any{"id"}
	mustCreate(t, s, j)
	r := ret(j.JID, "a", true)
	r.Return = json.RawMessage(`{"stdout":"uid=0"}`)
	mustReturns(t, s, r)
	d, err := s.GetJob(ctx(t), j.JID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"jid", "fun", "arg", "kwarg", "tgt", "tgt_type", "user", "master", "created", "timeout", "status", "expected", "returns", "no_return"} {
		if _, ok := m[k]; !ok {
			t.Errorf("job JSON lacks %q: %s", k, b)
		}
	}
	if m["timeout"] != 5.0 {
		t.Errorf("timeout = %v, want 5 (seconds)", m["timeout"])
	}
	rets, _ := m["returns"].([]any)
	if len(rets) != 1 {
		t.Fatalf("returns in JSON = %v", m["returns"])
	}
	r0 := rets[0].(map[string]any)
	if r0["duration"] != 1.5 || r0["return"].(map[string]any)["stdout"] != "uid=0" || r0["success"] != true {
		t.Errorf("return JSON = %v", r0)
	}
	var back jobstore.JobDetail
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Timeout != j.Timeout || len(back.Returns) != 1 || back.Returns[0].Duration != r.Duration {
		t.Errorf("JSON round trip = %+v", back)
	}
}
