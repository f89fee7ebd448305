package proto

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/brine-project/brine/pkg/crypto"
)

func testKeys() crypto.PublicKeys {
	var p crypto.PublicKeys
	p.Sign = bytes.Repeat([]byte{7}, 32)
	p.Box[0], p.Box[31] = 1, 2
	return p
}

var sig64 = bytes.Repeat([]byte{0xAB}, 64)

// samples holds one valid message of every type; fuzz seeds come from here.
func samples() map[string]Message {
	return map[string]Message{
		"auth_request": &AuthRequest{MinionID: "web-1", Keys: testKeys(), Nonce: [16]byte{1, 2, 3},
			Timestamp: 1_700_000_000_000_000_000, Signature: sig64},
		"auth_reply": &AuthReply{Status: StatusAccepted, MinionID: "web-1", Master: testKeys(),
			SessionKeyID: 3, SealedSessionKey: bytes.Repeat([]byte{1}, 72), RequestKeyID: 9,
			SealedRequestKey: bytes.Repeat([]byte{2}, 72), PublishPort: 4505, Nonce: [16]byte{9},
			Timestamp: -5, Reason: "", Signature: sig64},
		"auth_reply_pending": &AuthReply{Status: StatusPending, MinionID: "x", Master: testKeys(), Reason: "pending"},
		"publish": &Publish{SessionKeyID: 1 << 40, Timestamp: 12, MessageID: "20261122000000123456",
			Ciphertext: []byte("ciphertext"), Signature: sig64},
		"publish_unsigned": &Publish{SessionKeyID: 1, MessageID: "j", Ciphertext: []byte{0}},
		"payload":          &PublishPayload{Kind: "job", Body: []byte(`{"fun":"test.ping"}`)},
		"request_envelope": &RequestEnvelope{MinionID: "db-2", KeyID: 4, Sealed: []byte("sealed")},
		"request":          &Request{Kind: KindReturn, ID: 300, Timestamp: 99, Body: []byte("ret")},
		"reply_envelope":   &ReplyEnvelope{KeyID: 4, Sealed: []byte("sealed")},
		"reply":            &Reply{ID: 300, Status: ReplyNotFound, Body: []byte("no such file")},
		"reauth":           &ReAuth{Reason: "key deleted", Jitter: 5 * time.Second, SessionKeyID: 8, Timestamp: 1, Signature: sig64},
		"heartbeat":        &Heartbeat{Timestamp: 77, Seq: 1},
	}
}

func TestRoundTrip(t *testing.T) {
	for name, m := range samples() {
		t.Run(name, func(t *testing.T) {
			data := Encode(m)
			got, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("got %+v\nwant %+v", got, m)
			}
			if !bytes.Equal(Encode(got), data) {
				t.Fatal("re-encoding differs")
			}
			// Decoded messages must not alias the caller's buffer.
			for i := range data {
				data[i] = 0
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatal("decoded message changed when the input buffer was reused")
			}
		})
	}
}

func TestSignedBytes(t *testing.T) {
	p := samples()["publish"].(*Publish)
	sb := SignedBytes(p)
	if p.Signature == nil {
		t.Fatal("SignedBytes modified the message")
	}
	unsigned := *p
	unsigned.Signature = nil
	if !bytes.Equal(sb, Encode(&unsigned)) {
		t.Fatal("signed bytes are not the unsigned encoding")
	}
	q := *p
	q.MessageID = "other"
	if bytes.Equal(SignedBytes(&q), sb) {
		t.Fatal("signed bytes do not cover the message id")
	}
}

func TestDecodeErrors(t *testing.T) {
	good := Encode(samples()["request"])
	withByte := func(i int, b byte) []byte {
		d := append([]byte(nil), good...)
		d[i] = b
		return d
	}
	longID := Encode(&RequestEnvelope{MinionID: strings.Repeat("a", MaxIDLen+1)})
	badSig := Encode(&ReAuth{Signature: []byte{1, 2, 3}})
	nonMinimal := append([]byte("BR\x01\x0a"), make([]byte, 8)...)
	nonMinimal = append(nonMinimal, 0x80, 0x00) // seq 0 as two bytes
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"short header", []byte("BR\x01"), ErrMalformed},
		{"bad magic", withByte(0, 'X'), ErrMalformed},
		{"version 2", withByte(2, 2), ErrVersion},
		{"version 0", withByte(2, 0), ErrVersion},
		{"unknown type", withByte(3, 200), ErrType},
		{"type zero", withByte(3, 0), ErrType},
		{"truncated", good[:len(good)-1], ErrMalformed},
		{"trailing", append(append([]byte(nil), good...), 0), ErrMalformed},
		{"oversized", make([]byte, MaxSize+1), ErrTooLarge},
		{"id over limit", longID, ErrMalformed},
		{"bad signature length", badSig, ErrMalformed},
		{"non-minimal varint", nonMinimal, ErrMalformed},
		{"length past end", append([]byte("BR\x01\x04\x03job\xff\xff\x03"), 1), ErrMalformed},
		{"invalid utf8", append([]byte("BR\x01\x04\x02\xff\xfe"), 0), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("typed decoder wrong type", func(t *testing.T) {
		if _, err := DecodePublish(good); !errors.Is(err, ErrType) {
			t.Fatalf("err = %v", err)
		}
	})
}
