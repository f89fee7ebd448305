package transport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// The interop tests run stock libzmq sockets (Debian's python3-zmq) against
// the hub. On CI (CI=true) or with BRINE_INSTALL_TEST_DEPS=1 a missing
// python3-zmq is installed with apt-get; on CI a missing peer fails the test
// instead of skipping it.

var (
	pythonOnce sync.Once
	pythonPath string
	pythonErr  error
)

func libzmqPython(t *testing.T) string {
	t.Helper()
	pythonOnce.Do(func() { pythonPath, pythonErr = findLibzmqPython() })
	if pythonErr != nil {
		if os.Getenv("CI") == "true" || os.Getenv("BRINE_REQUIRE_INTEROP") == "1" {
			t.Fatalf("libzmq interop peer unavailable: %v", pythonErr)
		}
		t.Skipf("libzmq interop peer unavailable (set BRINE_INSTALL_TEST_DEPS=1 to install): %v", pythonErr)
	}
	return pythonPath
}

func findLibzmqPython() (string, error) {
	candidates := []string{os.Getenv("BRINE_PYTHON"), "/usr/bin/python3", "python3"}
	try := func() (string, error) {
		var errs []error
		for _, c := range candidates {
			if c == "" {
				continue
			}
			out, err := exec.Command(c, "-c", "import zmq").CombinedOutput()
			if err == nil {
				return c, nil
			}
			errs = append(errs, fmt.Errorf("%s: %w: %s", c, err, bytes.TrimSpace(out)))
		}
		return "", errors.Join(errs...)
	}
	p, err := try()
	if err == nil || (os.Getenv("CI") != "true" && os.Getenv("BRINE_INSTALL_TEST_DEPS") != "1") {
		return p, err
	}
	install := func() error {
		cmd := exec.Command("apt-get", "install", "-y", "-q", "python3-zmq")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get install python3-zmq: %w: %s", err, out)
		}
		return nil
	}
	if install() != nil {
		if out, err := exec.Command("apt-get", "update", "-q").CombinedOutput(); err != nil {
			return "", fmt.Errorf("apt-get update: %w: %s", err, out)
		}
		if err := install(); err != nil {
			return "", err
		}
	}
	return try()
}

// runPeer starts the libzmq peer and returns its output lines as they come.
func runPeer(t *testing.T, ctx context.Context, args ...string) <-chan string {
	t.Helper()
	py := libzmqPython(t)
	cmd := exec.CommandContext(ctx, py, append([]string{"testdata/interop.py"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if err := cmd.Wait(); err != nil && ctx.Err() == nil {
			t.Errorf("libzmq peer: %v: %s", err, stderr.String())
		}
	})
	return lines
}

func hexLine(frames ...[]byte) string {
	parts := make([]string, len(frames))
	for i, f := range frames {
		parts[i] = hex.EncodeToString(f)
	}
	return strings.Join(parts, " ")
}

func nextLine(t *testing.T, ctx context.Context, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("libzmq peer exited early")
		}
		return l
	case <-ctx.Done():
		t.Fatal("no output from libzmq peer")
	}
	return ""
}

func TestInteropLibzmqSub(t *testing.T) {
	ctx := deadline(t, 30*time.Second)
	h := startHub(t, HubConfig{})
	msgs := [][][]byte{
		{[]byte("broadcast"), []byte("ping")},
		{[]byte("minion/a"), {}, bytes.Repeat([]byte{0xab}, 70000)},
		{[]byte("t")},
	}
	lines := runPeer(t, ctx, "sub", "tcp://"+h.PublishAddr().String(), fmt.Sprint(len(msgs)))
	if err := h.WaitSubscribed(ctx, "", 1); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if d := h.Publish(m[0], m[1:]...); d.Queued != 1 {
			t.Fatalf("publish delivery %+v", d)
		}
	}
	for i, m := range msgs {
		if got, want := nextLine(t, ctx, lines), hexLine(m...); got != want {
			t.Fatalf("message %d: libzmq SUB got %.80s..., want %.80s...", i, got, want)
		}
	}
}

func TestInteropLibzmqDealerAndReq(t *testing.T) {
	ctx := deadline(t, 30*time.Second)
	// A two-step exchange shaped like authentication: hello with an id,
	// a challenge bound to the connection, an answer, a verdict.
	h := startHub(t, HubConfig{Handler: HandlerFunc(func(_ context.Context, p *Peer, f [][]byte) ([][]byte, error) {
		switch {
		case len(f) == 2 && string(f[0]) == "hello":
			if string(f[1]) != p.Identity() {
				return [][]byte{[]byte("refused"), []byte("identity mismatch")}, nil
			}
			nonce := []byte("nonce-" + p.Identity())
			p.SetTag(nonce)
			return [][]byte{[]byte("challenge"), nonce}, nil
		case len(f) == 2 && string(f[0]) == "answer":
			if tag, _ := p.Tag().([]byte); !bytes.Equal(tag, f[1]) {
				return [][]byte{[]byte("refused"), []byte("bad answer")}, nil
			}
			return [][]byte{[]byte("accepted"), []byte(p.Identity())}, nil
		}
		return nil, errors.New("unexpected request")
	})})
	for _, sock := range []string{"dealer", "req"} {
		t.Run(sock, func(t *testing.T) {
			id := "py-" + sock
			lines := runPeer(t, ctx, sock, "tcp://"+h.RequestAddr().String(), id)
			if got, want := nextLine(t, ctx, lines), hexLine([]byte("challenge"), []byte("nonce-"+id)); got != want {
				t.Fatalf("challenge: got %q, want %q", got, want)
			}
			if got, want := nextLine(t, ctx, lines), hexLine([]byte("accepted"), []byte(id)); got != want {
				t.Fatalf("verdict: got %q, want %q", got, want)
			}
		})
	}
}
