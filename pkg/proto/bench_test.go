package proto

import (
	"bytes"
	"encoding/json"
	"testing"
)

func benchPublish() *Publish {
	return &Publish{SessionKeyID: 7, Timestamp: 1_700_000_000_000_000_000, MessageID: "20261122001500123456",
		Ciphertext: bytes.Repeat([]byte{1}, 1024), Signature: sig64}
}

func BenchmarkEncodePublish1K(b *testing.B) {
	m := benchPublish()
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEncode(buf[:0], m)
	}
}

func BenchmarkDecodePublish1K(b *testing.B) {
	data := Encode(benchPublish())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodePublish(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	m := &Request{Kind: KindReturn, ID: 12345, Timestamp: 1_700_000_000_000_000_000, Body: bytes.Repeat([]byte{'x'}, 256)}
	b.ReportAllocs()
	for b.Loop() {
		Encode(m)
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	data := Encode(&Request{Kind: KindReturn, ID: 12345, Timestamp: 1_700_000_000_000_000_000, Body: bytes.Repeat([]byte{'x'}, 256)})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(data); err != nil {
			b.Fatal(err)
		}
	}
}

// The JSON benchmarks are the alternative this encoding was chosen over,
// measured on the same publish.
func BenchmarkJSONEncodePublish1K(b *testing.B) {
	m := benchPublish()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONDecodePublish1K(b *testing.B) {
	data, _ := json.Marshal(benchPublish())
	b.ReportAllocs()
	for b.Loop() {
		var p Publish
		if err := json.Unmarshal(data, &p); err != nil {
			b.Fatal(err)
		}
	}
}
