package api

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/api/client"
	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/events"
)

// instantBackend completes every job at once with a return from each of n
// minions: what is left to measure is the API's own cost (HTTP, JSON, ACL).
type instantBackend struct {
	*fakeBackend
	ids []string
}

func (b *instantBackend) Resolve(context.Context, string, string) ([]string, error) {
	return b.ids, nil
}

func (b *instantBackend) MatchMinion(context.Context, string, string) (bool, error) { return true, nil }

func (b *instantBackend) Submit(_ context.Context, req types.JobRequest, user string) (*types.JobDetail, error) {
	return &types.JobDetail{JID: "20260101000000000001_abc", Fun: req.Fun, Tgt: req.Tgt, TgtType: req.TgtType,
		User: user, Created: time.Now(), Status: types.JobRunning, Expected: b.ids}, nil
}

func (b *instantBackend) Wait(_ context.Context, jid string) (*types.JobDetail, error) {
	rets := make(map[string]types.MinionReturn, len(b.ids))
	for _, id := range b.ids {
		rets[id] = types.MinionReturn{Return: true, Success: true, Duration: 0.001}
	}
	return &types.JobDetail{JID: jid, Fun: "test.ping", Status: types.JobComplete, Expected: b.ids, Returns: rets}, nil
}

// BenchmarkSubmitWait is POST /jobs with wait through the Go client, for a
// job to n minions that all answer at once: the API's share of a job's
// round trip. "acl" uses a restricted token (one MatchMinion per minion).
func BenchmarkSubmitWait(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		for _, tok := range []string{adminSecret, ciSecret} {
			name := "admin"
			if tok == ciSecret {
				name = "acl"
			}
			b.Run(fmt.Sprintf("minions=%d/%s", n, name), func(b *testing.B) {
				ids := make([]string, n)
				for i := range ids {
					ids[i] = fmt.Sprintf("web%04d", i)
				}
				bus := events.New(nil)
				defer bus.Stop()
				h, err := New(Config{Backend: &instantBackend{fakeBackend: newFake(), ids: ids}, Bus: bus, AdminToken: adminSecret,
					Tokens: []Token{{Name: "ci", TokenHash: HashToken(ciSecret),
						Permissions: []Permission{{Target: "web*", Functions: []string{`test\..*`}}}}}})
				if err != nil {
					b.Fatal(err)
				}
				srv := httptest.NewServer(h)
				defer srv.Close()
				c := client.New(srv.URL, tok, nil)
				req := types.JobRequest{Tgt: "web*", Fun: "test.ping", Wait: true}
				var lat []time.Duration
				for b.Loop() {
					t0 := time.Now()
					j, err := c.SubmitJob(context.Background(), req)
					lat = append(lat, time.Since(t0))
					if err != nil || len(j.Returns) != n {
						b.Fatalf("submit: %v (%d returns)", err, len(j.Returns))
					}
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			})
		}
	}
}
