package transport

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestMessageRoundTrip(t *testing.T) {
	cases := []struct {
		name   string
		frames [][]byte
		want   [][]byte
	}{
		{"one frame", [][]byte{[]byte("hello")}, nil},
		{"multipart", [][]byte{[]byte("topic"), []byte("a"), []byte("b")}, nil},
		{"empty frames", [][]byte{{}, {}}, nil},
		{"long frame", [][]byte{bytes.Repeat([]byte{7}, 256)}, nil},
		{"boundary 255", [][]byte{bytes.Repeat([]byte{7}, 255)}, nil},
		{"no frames becomes one empty frame", nil, [][]byte{{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == nil {
				want = tc.frames
			}
			enc := encodeMessage(tc.frames)
			if len(tc.frames) > 0 && len(enc) != encodedSize(tc.frames) {
				t.Fatalf("encoded %d bytes, encodedSize says %d", len(enc), encodedSize(tc.frames))
			}
			got, err := readMessage(bufio.NewReader(bytes.NewReader(enc)), DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			if got.command || len(got.frames) != len(want) {
				t.Fatalf("got %q (command=%v), want %q", got.frames, got.command, want)
			}
			for i := range want {
				if !bytes.Equal(got.frames[i], want[i]) {
					t.Fatalf("frame %d = %q, want %q", i, got.frames[i], want[i])
				}
			}
		})
	}
}

func longHeader(flags byte, size uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{flags | flagLong}, size)
}

func TestReadMessageRejects(t *testing.T) {
	small := Limits{MaxFrame: 16, MaxMessage: 24, MaxFrames: 3}
	cases := []struct {
		name  string
		input []byte
		want  error
	}{
		{"reserved flag bits", []byte{0x80, 0}, ErrProtocol},
		{"huge long frame", longHeader(0, 1<<62), ErrProtocol},
		{"max uint64 frame", longHeader(0, ^uint64(0)), ErrProtocol},
		{"frame over limit", longHeader(0, 17), ErrProtocol},
		{"message over limit", append(appendFrame(nil, flagMore, make([]byte, 16)), appendFrame(nil, 0, make([]byte, 9))...), ErrProtocol},
		{"too many frames", bytes.Repeat([]byte{flagMore, 0}, 4), ErrProtocol},
		{"command with more", []byte{flagCommand | flagMore, 0}, ErrProtocol},
		{"data after command", []byte{flagCommand, 0, 0, 0}, nil}, // command ends the message
		{"command inside multipart", []byte{flagMore, 0, flagCommand, 0}, ErrProtocol},
		{"truncated header", []byte{flagLong, 0, 0}, io.ErrUnexpectedEOF},
		{"truncated body", []byte{0, 5, 'a'}, io.ErrUnexpectedEOF},
		{"truncated multipart", []byte{flagMore, 1, 'a'}, io.ErrUnexpectedEOF},
		{"clean EOF", nil, io.EOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readMessage(bufio.NewReader(bytes.NewReader(tc.input)), small)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseCommand(t *testing.T) {
	cases := []struct {
		name     string
		body     []byte
		wantName string
		wantData string
		wantErr  bool
	}{
		{"ping", []byte("\x04PING\x00\x0actx"), "PING", "\x00\x0actx", false},
		{"no data", []byte("\x05READY"), "READY", "", false},
		{"empty", nil, "", "", true},
		{"zero name", []byte{0}, "", "", true},
		{"name past end", []byte("\x09PING"), "", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name, data, err := parseCommand(tc.body)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if name != tc.wantName || string(data) != tc.wantData {
				t.Fatalf("got %q %q", name, data)
			}
		})
	}
}

func TestGuardStateStopsOversizedHandshakeFrames(t *testing.T) {
	greeting := make([]byte, greetingLen)
	ready := encodeCommand("READY", []byte("meta"))
	cases := []struct {
		name    string
		stream  []byte
		chunk   int // feed in pieces of this size, as a TCP stream may arrive
		wantErr bool
	}{
		{"greeting and ready", append(append([]byte{}, greeting...), ready...), 1, false},
		{"ready in one read", append(append([]byte{}, greeting...), ready...), 1000, false},
		{"huge long frame", append(append([]byte{}, greeting...), longHeader(flagCommand, 1<<40)...), 3, true},
		{"after a good frame", append(append(append([]byte{}, greeting...), ready...), longHeader(0, maxHandshakeFrame+1)...), 5, true},
		{"at the limit", append(append([]byte{}, greeting...), longHeader(0, maxHandshakeFrame)...), 7, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s guardState
			var err error
			for b := tc.stream; len(b) > 0 && err == nil; {
				k := min(tc.chunk, len(b))
				err = s.feed(b[:k], maxHandshakeFrame)
				b = b[k:]
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrProtocol) {
				t.Fatalf("err %v does not wrap ErrProtocol", err)
			}
		})
	}
}

// FuzzReadMessage: whatever a peer sends, the reader returns a message
// within the limits or an error, never panics, and what it returns
// re-encodes to an equivalent message.
func FuzzReadMessage(f *testing.F) {
	f.Add(encodeMessage([][]byte{[]byte("topic"), []byte("body")}))
	f.Add(encodeCommand(cmdPing, []byte{0, 1, 'x'}))
	f.Add(longHeader(0, 1<<40))
	f.Add([]byte{flagMore, 0, flagCommand, 0})
	lim := Limits{MaxFrame: 1 << 10, MaxMessage: 4 << 10, MaxFrames: 8}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			m, err := readMessage(r, lim)
			if err != nil {
				return
			}
			total := 0
			for _, fr := range m.frames {
				total += len(fr)
			}
			if len(m.frames) == 0 || len(m.frames) > lim.MaxFrames || total > lim.MaxMessage {
				t.Fatalf("message outside limits: %d frames, %d bytes", len(m.frames), total)
			}
			if m.command {
				_, _, _ = parseCommand(m.frames[0])
				continue
			}
			again, err := readMessage(bufio.NewReader(bytes.NewReader(encodeMessage(m.frames))), lim)
			if err != nil || len(again.frames) != len(m.frames) {
				t.Fatalf("re-encoding failed: %v", err)
			}
		}
	})
}

// FuzzGuardState: the handshake guard never panics and never lets a frame
// header over the limit through.
func FuzzGuardState(f *testing.F) {
	f.Add(append(make([]byte, greetingLen), encodeCommand("READY", nil)...), uint8(3))
	f.Add(append(make([]byte, greetingLen), longHeader(0, 1<<50)...), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		step := int(chunk%16) + 1
		var s guardState
		for len(data) > 0 {
			k := min(step, len(data))
			if err := s.feed(data[:k], 1024); err != nil {
				return
			}
			if s.body > 1024 {
				t.Fatalf("guard let a %d-byte frame through", s.body)
			}
			data = data[k:]
		}
	})
}

// FuzzParseCommand covers the command decoder on its own.
func FuzzParseCommand(f *testing.F) {
	f.Add([]byte("\x04PING\x00\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		name, data, err := parseCommand(body)
		if err == nil && 1+len(name)+len(data) != len(body) {
			t.Fatalf("parsed %q %q from %d bytes", name, data, len(body))
		}
	})
}
