package master_test

import (
	"context"
	"encoding/hex"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/crypto"
	"github.com/brine-project/brine/pkg/master"
	"github.com/brine-project/brine/pkg/proto"
	"github.com/brine-project/brine/pkg/session"
)

// dealerScript is a stock libzmq DEALER (Debian's python3-zmq): it sends
// each hex message given on stdin, one per line, to the request port and
// prints each reply in hex. The messages themselves come from our session
// code: what this proves is that the master's auth exchange and a sealed
// request work with libzmq on the other end of the wire.
const dealerScript = `
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.setsockopt(zmq.IDENTITY, b"pyminion")
s.setsockopt(zmq.RCVTIMEO, 10000)
s.connect(sys.argv[1])
for line in sys.stdin:
    s.send(bytes.fromhex(line.strip()))
    print(s.recv().hex(), flush=True)
`

func libzmqPython(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("BRINE_PYTHON"), "/usr/bin/python3"} {
		if p != "" && exec.Command(p, "-c", "import zmq").Run() == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no python3 with zmq (Debian's python3-zmq): make test installs it through deploy/test-deps.sh")
	}
	t.Skip("no python3 with zmq; run deploy/test-deps.sh")
	return ""
}

func TestLibzmqDealerCompletesAuth(t *testing.T) {
	py := libzmqPython(t)
	dir := t.TempDir()
	cfg := master.Config{ID: "m", PublishAddr: "127.0.0.1:0", RequestAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0",
		DataDir: filepath.Join(dir, "data"), AutoAccept: true}
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

	kp, _ := crypto.Generate()
	c, err := session.NewClient(session.ClientConfig{ID: "pyminion", Keys: kp})
	if err != nil {
		t.Fatal(err)
	}
	hello, _ := c.Hello()
	heartbeatAfterAuth := func() []byte {
		// Sealed only once the reply installed the request key.
		data, _, err := c.SealRequest(proto.KindHeartbeat, nil)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}

	cmd := exec.Command(py, "-c", dealerScript, "tcp://"+addr)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 4)
	go func() {
		buf := make([]byte, 1<<20)
		var acc string
		for {
			n, err := stdout.Read(buf)
			acc += string(buf[:n])
			for {
				i := strings.IndexByte(acc, '\n')
				if i < 0 {
					break
				}
				lines <- acc[:i]
				acc = acc[i+1:]
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	exchange := func(msg []byte) []byte {
		t.Helper()
		if _, err := stdin.Write([]byte(hex.EncodeToString(msg) + "\n")); err != nil {
			t.Fatal(err)
		}
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the libzmq peer exited")
			}
			b, err := hex.DecodeString(l)
			if err != nil {
				t.Fatal(err)
			}
			return b
		case <-time.After(15 * time.Second):
			t.Fatal("no reply through libzmq")
			return nil
		}
	}
	status, err := c.HandleAuthReply(exchange(hello))
	if err != nil || status != proto.StatusAccepted {
		t.Fatalf("auth through libzmq DEALER: %v, %v", status, err)
	}
	reply, err := c.OpenReply(exchange(heartbeatAfterAuth()))
	if err != nil || reply.Status != proto.ReplyOK {
		t.Fatalf("sealed request through libzmq DEALER: %+v, %v", reply, err)
	}
}
