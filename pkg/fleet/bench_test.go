package fleet_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/fleet"
)

// benchFleet starts n minions for a benchmark, reporting how long the
// fleet took to come up (setup is not part of the timed loop). The fleet's
// data dirs go under $BRINE_FLEET_DIR when set (e.g. /dev/shm, to measure
// without every minion's return spool fsyncing to the same disk).
func benchFleet(b *testing.B, n int) *fleet.Fleet {
	b.Helper()
	start := time.Now()
	f := fleet.Start(b, n, fleet.Options{AutoAccept: true, Dir: os.Getenv("BRINE_FLEET_DIR")})
	b.Logf("%d minions authenticated and subscribed in %v (open files limit %d)",
		n, time.Since(start).Round(time.Millisecond), fleet.FileLimit())
	return f
}

// BenchmarkPublishFanout submits one test.ping to every minion through the
// API (without waiting) and measures, from the submission, the time until
// every minion's job hook fired (ms/reach: the publish reached all, each
// verified, decrypted and matched it) and until the master had every
// return (ms/allreplies: the job is complete).
func BenchmarkPublishFanout(b *testing.B) {
	for _, n := range []int{100, 1000, 3000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			f := benchFleet(b, n)
			ctx := deadline(b, 30*time.Minute)
			rc := newReach(n)
			f.OnJob(rc.hit)
			req := types.JobRequest{Tgt: "*", Fun: "test.ping", Timeout: 60}
			var reachSum, replySum time.Duration
			for b.Loop() {
				start := time.Now()
				jid, err := rc.submit(ctx, f, req)
				if err != nil {
					b.Fatal(err)
				}
				took, err := rc.wait(ctx, jid)
				if err != nil {
					b.Fatal(err)
				}
				d, err := f.API().WaitJob(ctx, jid, time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				replySum += time.Since(start)
				reachSum += took
				if len(d.Returns) != n {
					b.Fatalf("job %s: %d returns of %d", jid, len(d.Returns), n)
				}
			}
			b.ReportMetric(float64(reachSum.Microseconds())/1e3/float64(b.N), "ms/reach")
			b.ReportMetric(float64(replySum.Microseconds())/1e3/float64(b.N), "ms/allreplies")
		})
	}
}

// BenchmarkAPIRoundTrip measures POST /jobs with wait=true for test.ping to
// every minion: the answer comes back the moment the last minion returned,
// never at the job's timeout. Reports the median and p99 over iterations.
func BenchmarkAPIRoundTrip(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			f := benchFleet(b, n)
			ctx := deadline(b, 30*time.Minute)
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				d, err := ping(ctx, f, "*")
				if err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
				if len(d.Returns) != n || len(d.NoReturn) != 0 {
					b.Fatalf("job %s: %d returns of %d, %d without", d.JID, len(d.Returns), n, len(d.NoReturn))
				}
			}
			s := summarise(took)
			b.ReportMetric(float64(s.median.Microseconds())/1e3, "ms-median")
			b.ReportMetric(float64(s.p99.Microseconds())/1e3, "ms-p99")
		})
	}
}
