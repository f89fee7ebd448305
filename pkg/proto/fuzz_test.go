package proto

import (
	"bytes"
	"reflect"
	"testing"
)

// fuzzDecoder checks, for arbitrary input, that decode never panics and that
// whatever decodes re-encodes to the same bytes and decodes to an equal
// message (decode(encode(m)) == m).
func fuzzDecoder[T any, P interface {
	*T
	Message
}](f *testing.F, decode func([]byte) (*T, error)) {
	for _, m := range samples() {
		f.Add(Encode(m))
	}
	f.Add([]byte("BR\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decode(data)
		if err != nil {
			return
		}
		enc := Encode(P(m))
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", data, enc)
		}
		m2, err := decode(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("decode(encode(m)) != m: %+v vs %+v", m2, m)
		}
	})
}

func FuzzDecodeAuthRequest(f *testing.F) { fuzzDecoder(f, DecodeAuthRequest) }
func FuzzDecodeAuthReply(f *testing.F)   { fuzzDecoder(f, DecodeAuthReply) }
func FuzzDecodePublish(f *testing.F)     { fuzzDecoder(f, DecodePublish) }
func FuzzDecodePublishPayload(f *testing.F) {
	fuzzDecoder(f, DecodePublishPayload)
}
func FuzzDecodeRequestEnvelope(f *testing.F) { fuzzDecoder(f, DecodeRequestEnvelope) }
func FuzzDecodeRequest(f *testing.F)         { fuzzDecoder(f, DecodeRequest) }
func FuzzDecodeReplyEnvelope(f *testing.F)   { fuzzDecoder(f, DecodeReplyEnvelope) }
func FuzzDecodeReply(f *testing.F)           { fuzzDecoder(f, DecodeReply) }
func FuzzDecodeReAuth(f *testing.F)          { fuzzDecoder(f, DecodeReAuth) }
func FuzzDecodeHeartbeat(f *testing.F)       { fuzzDecoder(f, DecodeHeartbeat) }

// FuzzDecode covers the generic decoder used on the request port.
func FuzzDecode(f *testing.F) {
	for _, m := range samples() {
		f.Add(Encode(m))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		if enc := Encode(m); !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs")
		}
	})
}
