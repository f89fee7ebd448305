package master_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/crypto"
	"github.com/brine-project/brine/pkg/job"
	"github.com/brine-project/brine/pkg/master"
	"github.com/brine-project/brine/pkg/proto"
	"github.com/brine-project/brine/pkg/session"
	"github.com/brine-project/brine/pkg/transport"
)

// TestPillarOfAnotherMinionUnobtainable: a minion that authenticated as
// "spy" asks for pillar naming "victim" every way the request body allows;
// the master compiles only the sender's pillar, identified by the request
// key that opened the request.
func TestPillarOfAnotherMinionUnobtainable(t *testing.T) {
	dir := t.TempDir()
	pillarDir := filepath.Join(dir, "pillar")
	os.MkdirAll(pillarDir, 0o755)
	os.WriteFile(filepath.Join(pillarDir, "top.sls"), []byte("base:\n  victim:\n    - secret\n"), 0o644)
	os.WriteFile(filepath.Join(pillarDir, "secret.sls"), []byte("password: victim-secret\n"), 0o644)
	cfg := master.Config{ID: "m", PublishAddr: "127.0.0.1:0", RequestAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0",
		DataDir: filepath.Join(dir, "data"), AutoAccept: true, PillarRoots: map[string][]string{"base": {pillarDir}}}
	cfg.Defaults()
	ctx, cancel := context.WithCancel(context.Background())
	m, err := master.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := waitAddr(t, m)

	kp, err := crypto.Generate()
	if err != nil {
		t.Fatal(err)
	}
	spy, err := session.NewClient(session.ClientConfig{ID: "spy", Keys: kp})
	if err != nil {
		t.Fatal(err)
	}
	req, err := transport.NewRequester(transport.RequesterConfig{ClientConfig: transport.ClientConfig{Addrs: []string{addr}, Identity: "victim"}})
	if err != nil {
		t.Fatal(err)
	}
	go req.Run(ctx)
	call := func(data []byte) []byte {
		rctx, c := context.WithTimeout(ctx, 10*time.Second)
		defer c()
		frames, err := req.Request(rctx, data)
		if err != nil {
			t.Fatal(err)
		}
		return frames[0]
	}
	hello, _ := spy.Hello()
	if st, err := spy.HandleAuthReply(call(hello)); err != nil || st != proto.StatusAccepted {
		t.Fatalf("auth: %v %v", st, err)
	}
	for _, body := range []string{
		`{}`,
		`{"id": "victim"}`,
		`{"minion": "victim", "minion_id": "victim", "tgt": "victim"}`,
		`{"pillarenv": "base", "saltenv": "base", "id": "victim"}`,
	} {
		data, _, err := spy.SealRequest(job.KindPillar, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		reply, err := spy.OpenReply(call(data))
		if err != nil {
			t.Fatal(err)
		}
		var p map[string]any
		if err := json.Unmarshal(reply.Body, &p); err != nil {
			t.Fatalf("%s: %v (%s)", body, err, reply.Body)
		}
		if strings.Contains(string(reply.Body), "victim-secret") {
			t.Fatalf("request %s obtained the victim's pillar", body)
		}
	}
}

func waitAddr(t *testing.T, m *master.Master) string {
	t.Helper()
	select {
	case <-m.Ready():
		return m.RequestAddr()
	case <-time.After(10 * time.Second):
		t.Fatal("master did not start")
		return ""
	}
}
