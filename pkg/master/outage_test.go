package master_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/brine-project/brine/pkg/api/client"
	"github.com/brine-project/brine/pkg/api/types"
	"github.com/brine-project/brine/pkg/fleet"
	"github.com/brine-project/brine/pkg/master"
	"github.com/brine-project/brine/pkg/pgtest"
)

const (
	// outageFleet is how many minions answer every job.
	outageFleet = 100
	// outageLength is how long PostgreSQL stays down (the issue asks 30s).
	outageLength = 30 * time.Second
	// submitEvery is the pace of the job stream.
	submitEvery = 100 * time.Millisecond
	// maxSleep bounds each job's random test.sleep, so that jobs published
	// just before the outage return during it.
	maxSleep = 3.0
	// straddleSleep is the length of the job submitted right before the
	// database stops: its 100 returns all arrive while it is down.
	straddleSleep = 5.0
	// leadIn and tail are how long the stream runs before the outage and
	// after the restart.
	leadIn = 3 * time.Second
	tail   = 5 * time.Second
)

// TestPostgresOutageLosesNoReturn stops the master's PostgreSQL for
// outageLength under a stream of jobs to 100 minions, restarts it, and
// counts the rows: every job the API accepted has exactly one stored return
// per minion, none lost (the returns acknowledged during the outage were
// spooled and replayed) and none duplicated. Meanwhile the API reports the
// store as degraded, and ok again once the spool is replayed.
func TestPostgresOutageLosesNoReturn(t *testing.T) {
	srv := pgtest.Start(t) // a server of our own: this test stops it
	dbURL := srv.URL()
	f := fleet.Start(t, outageFleet, fleet.Options{AutoAccept: true, Master: func(c *master.Config) {
		c.Database = dbURL
	}})
	api := f.API()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if h, err := api.Health(ctx); err != nil || h.Status != types.HealthOK {
		t.Fatalf("health before the outage: %+v, %v", h, err)
	}

	st := startJobStream(ctx, api)
	defer st.stop()
	if err := st.waitAccepted(ctx, 1); err != nil {
		t.Fatalf("no job accepted before the outage: %v", err)
	}
	letRun(ctx, leadIn)
	// One job certain to return while the database is down.
	straddle, err := api.SubmitJob(ctx, sleepJob(straddleSleep))
	if err != nil {
		t.Fatalf("submit the job straddling the outage: %v", err)
	}
	st.accept(straddle)

	conns := f.Master().Hub().Stats().Accepted
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
	down := time.Now()
	t.Logf("PostgreSQL stopped after %d accepted jobs", st.acceptedCount())
	degraded, err := waitHealth(ctx, api, false, 15*time.Second)
	if err != nil {
		t.Fatalf("health never degraded during the outage: %v", err)
	}
	t.Logf("health during the outage: %s (store: %s)", degraded.Status, degraded.Store)
	// The straddling job's returns are acknowledged during the outage, so
	// they must be in the spool by now.
	if err := waitStraddleDone(ctx, api, straddle.JID, time.Duration(straddleSleep+15)*time.Second); err != nil {
		t.Fatalf("job %s did not complete during the outage: %v", straddle.JID, err)
	}
	mid, _ := api.Health(ctx)
	letRun(ctx, outageLength-time.Since(down))
	atEnd, _ := api.Health(ctx)
	if err := srv.Start(); err != nil {
		t.Fatalf("restart PostgreSQL: %v", err)
	}
	up := time.Now()
	early := watchEarlyComplete(ctx, dbURL)
	defer early.stop()
	if srv.URL() != dbURL {
		t.Fatalf("PostgreSQL came back on another port (%s, was %s): the master cannot find it", srv.URL(), dbURL)
	}
	t.Logf("PostgreSQL back after %v; health just before: %s, %v spooled", time.Since(down).Round(time.Millisecond),
		healthStatus(atEnd), healthDetail(atEnd, "rows_spooled"))

	letRun(ctx, tail)
	st.stop()
	// Minions have no reason to reconnect while only the database is down.
	if re := f.Master().Hub().Stats().Accepted - conns; re != 0 {
		t.Errorf("%d connections to the master were made again during and after the outage", re)
	}
	accepted, refused := st.result(t)
	t.Logf("jobs: %d accepted, %d refused with 503 during the outage", len(accepted), refused)
	if refused == 0 {
		t.Error("no job was refused while the database was down")
	}
	if after := st.acceptedAfter(down); after == 0 {
		t.Error("no job accepted after the restart")
	}

	ok, err := waitHealth(ctx, api, true, 60*time.Second)
	if err != nil {
		t.Fatalf("health not ok again after the restart: %v", err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect to count: %v", err)
	}
	defer conn.Close(context.Background())
	if err := waitComplete(ctx, conn, accepted, 90*time.Second); err != nil {
		explainIncomplete(ctx, t, conn, api, accepted)
		t.Fatal(err)
	}
	if n, example, err := early.stop(); err != nil {
		t.Errorf("watching the store after the restart: %v", err)
	} else if n > 0 {
		t.Errorf("%d jobs were complete in the store before all their returns were (e.g. %s)", n, example)
	}
	checkReturns(ctx, t, conn, accepted)
	var during int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM returns WHERE received >= $1 AND received < $2`, down, up).Scan(&during); err != nil {
		t.Fatal(err)
	}
	t.Logf("returns received while PostgreSQL was down (spooled, then replayed): %d", during)
	if during < outageFleet {
		t.Errorf("only %d returns received during the outage: it did not exercise the spool", during)
	}
	if h, err := api.Health(ctx); err == nil {
		ok = h
	}
	// The writer's counters include the events it records with the returns.
	t.Logf("writer: %v rows stored directly, %v spooled (%v by mid-outage) and replayed; health after: %s",
		healthDetail(ok, "rows_stored"), healthDetail(ok, "rows_spooled"), healthDetail(mid, "rows_spooled"), ok.Status)
}

// sleepJob is test.sleep on every minion, with a timeout far beyond the
// outage: completion must come from the returns, never from the timeout.
func sleepJob(length float64) types.JobRequest {
	return types.JobRequest{Tgt: "*", Fun: "test.sleep", Arg: []any{length}, Timeout: 300}
}

// jobStream submits a job every submitEvery until stopped, recording which
// the API accepted and how many it refused as unavailable. Stopping never
// interrupts a submission: a job whose answer we did not wait for might run
// without being counted.
type jobStream struct {
	api  *client.Client
	quit chan struct{}
	once sync.Once
	done chan struct{}

	mu       sync.Mutex // guards the fields below
	accepted map[string]time.Time
	refused  int
	errs     []error
	changed  chan struct{} // closed and replaced when accepted grows
}

func startJobStream(ctx context.Context, api *client.Client) *jobStream {
	s := &jobStream{api: api, quit: make(chan struct{}), done: make(chan struct{}), accepted: map[string]time.Time{},
		changed: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(submitEvery)
		defer tick.Stop()
		for {
			select {
			case <-s.quit:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			length := float64(rand.IntN(int(maxSleep*10)+1)) / 10
			sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
			d, err := api.SubmitJob(sctx, sleepJob(length))
			scancel()
			var apiErr *client.Error
			switch {
			case err == nil:
				s.accept(d)
			case errors.As(err, &apiErr) && apiErr.Status == http.StatusServiceUnavailable:
				s.mu.Lock()
				s.refused++
				s.mu.Unlock()
			default: // the job's fate is unknown: fails the test
				s.mu.Lock()
				s.errs = append(s.errs, err)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

func (s *jobStream) accept(d *types.JobDetail) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(d.Expected) != outageFleet {
		s.errs = append(s.errs, fmt.Errorf("job %s expects %d minions, want %d", d.JID, len(d.Expected), outageFleet))
	}
	s.accepted[d.JID] = time.Now()
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *jobStream) stop() {
	s.once.Do(func() { close(s.quit) })
	<-s.done
}

func (s *jobStream) acceptedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted)
}

func (s *jobStream) acceptedAfter(at time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, when := range s.accepted {
		if when.After(at) {
			n++
		}
	}
	return n
}

func (s *jobStream) waitAccepted(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		got, ch := len(s.accepted), s.changed
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// result is the accepted JIDs (sorted) and the refusals; any other submit
// error fails the test.
func (s *jobStream) result(t *testing.T) ([]string, int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, err := range s.errs {
		t.Errorf("submit: %v", err)
	}
	jids := make([]string, 0, len(s.accepted))
	for jid := range s.accepted {
		jids = append(jids, jid)
	}
	slices.Sort(jids)
	return jids, s.refused
}

// letRun lets the scenario run for d (the outage and the stream are periods
// of time by definition, not conditions to wait for).
func letRun(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// pollUntil calls cond every 100ms until it reports done, fails, or within
// passes.
func pollUntil(ctx context.Context, within time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if ok || err != nil {
			return err
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitHealth waits until GET /health reports ok (wantOK) or degraded with a
// 503, and returns that answer.
func waitHealth(ctx context.Context, api *client.Client, wantOK bool, within time.Duration) (*types.Health, error) {
	var last *types.Health
	var lastErr error
	err := pollUntil(ctx, within, func() (bool, error) {
		h, err := api.Health(ctx)
		last, lastErr = h, err
		if h == nil {
			return false, nil
		}
		var apiErr *client.Error
		if wantOK {
			return err == nil && h.Status == types.HealthOK, nil
		}
		return h.Status == types.HealthDegraded && errors.As(err, &apiErr) && apiErr.Status == http.StatusServiceUnavailable, nil
	})
	if err != nil {
		return nil, fmt.Errorf("last answer %+v, %v: %w", last, lastErr, err)
	}
	return last, nil
}

// waitStraddleDone waits until the job has every return in the master's
// memory: each was acknowledged to its minion, so each is durable.
func waitStraddleDone(ctx context.Context, api *client.Client, jid string, within time.Duration) error {
	return pollUntil(ctx, within, func() (bool, error) {
		d, err := api.Job(ctx, jid)
		if err != nil {
			return false, err
		}
		return d.Status == types.JobComplete && len(d.Returns) == outageFleet, nil
	})
}

// waitComplete waits until the store marks every job of jids complete.
func waitComplete(ctx context.Context, conn *pgx.Conn, jids []string, within time.Duration) error {
	var done int
	err := pollUntil(ctx, within, func() (bool, error) {
		err := conn.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE jid = ANY($1) AND status = 'complete'`, jids).Scan(&done)
		return done == len(jids), err
	})
	if err != nil {
		return fmt.Errorf("%d of %d accepted jobs complete in the store: %w", done, len(jids), err)
	}
	return nil
}

// earlyWatch polls the store from the restart on for a job marked complete
// while some of its returns are not stored yet: the master promises that a
// complete job in the store has them (so another master's Wait, which reads
// the store, answers with all of them).
type earlyWatch struct {
	quit    chan struct{}
	once    sync.Once
	done    chan struct{}
	seen    map[string]string // jid → "got/want", written by the watcher
	example string
	err     error
}

func watchEarlyComplete(ctx context.Context, dbURL string) *earlyWatch {
	w := &earlyWatch{quit: make(chan struct{}), done: make(chan struct{}), seen: map[string]string{}}
	go func() {
		defer close(w.done)
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			w.err = err
			return
		}
		defer conn.Close(context.Background())
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			rows, _ := conn.Query(ctx, `SELECT jid, got, want FROM (
				SELECT j.jid,
					(SELECT count(*) FROM returns r WHERE r.jid = j.jid) AS got,
					(SELECT count(*) FROM job_expected e WHERE e.jid = j.jid)
						- (SELECT count(*) FROM job_noreturn n WHERE n.jid = j.jid) AS want
				FROM jobs j WHERE j.status = 'complete') AS c WHERE got < want`)
			for rows.Next() {
				var jid string
				var got, want int
				if err := rows.Scan(&jid, &got, &want); err != nil {
					w.err = err
					return
				}
				if _, ok := w.seen[jid]; !ok {
					w.seen[jid] = fmt.Sprintf("%d/%d", got, want)
					if w.example == "" {
						w.example = fmt.Sprintf("%s complete with %d of %d returns", jid, got, want)
					}
				}
			}
			if err := rows.Err(); err != nil {
				w.err = err
				return
			}
			select {
			case <-w.quit:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// stop ends the watch and reports how many jobs were seen complete early.
func (w *earlyWatch) stop() (int, string, error) {
	w.once.Do(func() { close(w.quit) })
	<-w.done
	return len(w.seen), w.example, w.err
}

// explainIncomplete logs, for each accepted job the store does not show
// complete, what the store and the master's memory hold of it.
func explainIncomplete(ctx context.Context, t *testing.T, conn *pgx.Conn, api *client.Client, jids []string) {
	t.Helper()
	rows, _ := conn.Query(ctx, `SELECT j.jid, j.status, j.created,
			(SELECT count(*) FROM returns r WHERE r.jid = j.jid), (SELECT count(*) FROM job_expected e WHERE e.jid = j.jid)
		FROM unnest($1::text[]) AS a(jid) LEFT JOIN jobs j ON j.jid = a.jid COLLATE "C"
		WHERE j.status IS DISTINCT FROM 'complete'`, jids)
	for rows.Next() {
		var jid, st *string
		var created *time.Time
		var rets, exp int
		if err := rows.Scan(&jid, &st, &created, &rets, &exp); err != nil {
			t.Logf("explain: %v", err)
			return
		}
		if jid == nil {
			t.Logf("an accepted job is missing from the jobs table")
			continue
		}
		mem := "not tracked"
		if d, err := api.Job(ctx, *jid); err == nil {
			mem = fmt.Sprintf("%s with %d returns, %d no-return", d.Status, len(d.Returns), len(d.NoReturn))
		}
		t.Logf("job %s: store says %s (created %v, %d expected, %d returns stored); master: %s",
			*jid, *st, created.Format(time.RFC3339Nano), exp, rets, mem)
	}
	if err := rows.Err(); err != nil {
		t.Logf("explain: %v", err)
	}
}

// checkReturns counts the stored returns: exactly one successful return per
// minion for every accepted job, no no-return record, and no return for a
// job the API refused.
func checkReturns(ctx context.Context, t *testing.T, conn *pgx.Conn, jids []string) {
	t.Helper()
	rows, _ := conn.Query(ctx, `SELECT jid, count(*), count(DISTINCT minion), count(*) FILTER (WHERE success)
		FROM returns WHERE jid = ANY($1) GROUP BY jid`, jids)
	type counts struct{ rows, minions, ok int }
	got := map[string]counts{}
	var total int
	for rows.Next() {
		var jid string
		var c counts
		if err := rows.Scan(&jid, &c.rows, &c.minions, &c.ok); err != nil {
			t.Fatal(err)
		}
		got[jid] = c
		total += c.rows
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("count returns: %v", err)
	}
	bad := 0
	for _, jid := range jids {
		if c := got[jid]; c != (counts{outageFleet, outageFleet, outageFleet}) {
			if bad++; bad <= 10 {
				t.Errorf("job %s: %d returns from %d minions, %d successful; want %d of each", jid, c.rows, c.minions, c.ok, outageFleet)
			}
		}
	}
	var others, noReturn int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM returns WHERE NOT jid = ANY($1)`, jids).Scan(&others); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM job_noreturn WHERE jid = ANY($1)`, jids).Scan(&noReturn); err != nil {
		t.Fatal(err)
	}
	t.Logf("returns stored: %d for %d accepted jobs (want %d), %d jobs wrong, %d no-return records, %d returns of refused jobs",
		total, len(jids), len(jids)*outageFleet, bad, noReturn, others)
	if others != 0 {
		t.Errorf("%d returns stored for jobs the API refused", others)
	}
	if noReturn != 0 {
		t.Errorf("%d minions recorded as not returning", noReturn)
	}
}

func healthStatus(h *types.Health) string {
	if h == nil {
		return "no answer"
	}
	return h.Status
}

func healthDetail(h *types.Health, key string) any {
	if h == nil {
		return nil
	}
	return h.Details[key]
}
