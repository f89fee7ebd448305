package minion

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/job"
	"github.com/brine-project/brine/pkg/module"
)

func newTestRunner(t *testing.T, limit int) (*runner, chan job.Return, *module.Registry) {
	t.Helper()
	sp, err := openSpool(filepath.Join(t.TempDir(), "returns"))
	if err != nil {
		t.Fatal(err)
	}
	reg := module.NewRegistry()
	reg.Register(&module.Func{Name: "t.echo", Args: []module.Arg{{Name: "v"}}, Run: func(_ context.Context, _ *module.Env, a *module.Args) (any, error) {
		return a.Get("v"), nil
	}})
	reg.Register(&module.Func{Name: "t.block", Run: func(ctx context.Context, _ *module.Env, _ *module.Args) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	sent := make(chan job.Return, 16)
	r := newRunner(slog.New(slog.DiscardHandler), reg, limit, sp, func(*job.Job) *module.Env { return &module.Env{} },
		func(ret job.Return) { sent <- ret })
	return r, sent, reg
}

func recv(t *testing.T, ch chan job.Return) job.Return {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no return")
		return job.Return{}
	}
}

func TestRunnerSpoolsAndDedupes(t *testing.T) {
	r, sent, _ := newTestRunner(t, 2)
	ctx := context.Background()
	r.Start(ctx, job.Job{JID: "20261122000000000001_x", Fun: "t.echo", Arg: []any{"hi"}})
	ret := recv(t, sent)
	if string(ret.Return) != `"hi"` || !ret.Success || ret.Retcode != 0 {
		t.Fatalf("return %+v", ret)
	}
	// Until acknowledged, the return is on disk and survives a restart.
	pending, err := r.spool.Pending()
	if err != nil || len(pending) != 1 || pending[0].JID != ret.JID {
		t.Fatalf("pending %v, %v", pending, err)
	}
	// The same JID again (a replayed or re-sent publish) does not run: a
	// job that runs is listed as running before Start returns.
	r.Start(ctx, job.Job{JID: ret.JID, Fun: "t.block"})
	r2, sent2, _ := newTestRunner(t, 1)
	r2.spool = r.spool // a restarted minion with the same spool
	r2.Start(ctx, job.Job{JID: ret.JID, Fun: "t.block"})
	if len(r.Running()) != 0 || len(r2.Running()) != 0 || len(sent) != 0 || len(sent2) != 0 {
		t.Fatalf("a seen JID ran again: %v %v", r.Running(), r2.Running())
	}
	r.spool.Remove(ret.JID)
	if pending, _ := r.spool.Pending(); len(pending) != 0 {
		t.Fatalf("acknowledged return still spooled: %v", pending)
	}
	// A JID that would name a file outside the spool is refused.
	r.Start(ctx, job.Job{JID: "../../etc/x", Fun: "t.echo"})
	if _, err := os.Stat(filepath.Join(r.spool.dir, "..", "..", "etc")); err == nil {
		t.Fatal("path escaped the spool")
	}
}

func TestRunnerBadArgsAndKill(t *testing.T) {
	r, sent, _ := newTestRunner(t, 4)
	ctx := context.Background()
	r.Start(ctx, job.Job{JID: "j-bad", Fun: "t.echo", Kwarg: map[string]any{"nope": 1}})
	ret := recv(t, sent)
	var msg string
	json.Unmarshal(ret.Return, &msg)
	if ret.Success || ret.Retcode == 0 || msg == "" {
		t.Fatalf("bad args: %+v", ret)
	}
	r.Start(ctx, job.Job{JID: "j-block", Fun: "t.block"})
	deadline := time.Now().Add(5 * time.Second)
	for len(r.Running()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if run := r.Running(); len(run) != 1 || run[0].JID != "j-block" || run[0].Fun != "t.block" {
		t.Fatalf("running %+v", run)
	}
	if err := r.Kill("j-block"); err != nil {
		t.Fatal(err)
	}
	if ret := recv(t, sent); ret.JID != "j-block" || ret.Success {
		t.Fatalf("killed job returned %+v", ret)
	}
	if err := r.Kill("j-block"); err == nil {
		t.Fatal("kill of a finished job succeeded")
	}
}
