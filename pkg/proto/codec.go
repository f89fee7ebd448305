package proto

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/brine-project/brine/pkg/crypto"
)

// codec walks a message's fields in wire order, either appending them
// (encoding) or filling them (decoding). Each message describes its fields
// once, in one method, so the two directions cannot drift apart.
type codec struct {
	enc bool
	buf []byte // encode: output; decode: remaining input
	err error  // decode: first error; later reads are no-ops
}

func (c *codec) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (c *codec) take(n int, what string) []byte {
	if c.err != nil {
		return nil
	}
	if n > len(c.buf) {
		c.fail("%s: need %d bytes, have %d", what, n, len(c.buf))
		return nil
	}
	b := c.buf[:n:n]
	c.buf = c.buf[n:]
	return b
}

// uvarint reads a minimal (canonical) unsigned varint, so that every valid
// encoding has exactly one byte form and signatures over re-encodings hold.
func (c *codec) uvarint(v *uint64, what string) {
	if c.enc {
		c.buf = binary.AppendUvarint(c.buf, *v)
		return
	}
	if c.err != nil {
		return
	}
	x, n := binary.Uvarint(c.buf)
	if n <= 0 {
		c.fail("%s: bad varint", what)
		return
	}
	if n != uvarintLen(x) {
		c.fail("%s: non-minimal varint", what)
		return
	}
	c.buf = c.buf[n:]
	*v = x
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func (c *codec) u64(v *uint64, what string) { c.uvarint(v, what) }

func (c *codec) u8(v *uint8, what string) {
	if c.enc {
		c.buf = append(c.buf, *v)
		return
	}
	if b := c.take(1, what); b != nil {
		*v = b[0]
	}
}

// i64 is a fixed 8-byte big-endian signed integer (timestamps in unix ns).
func (c *codec) i64(v *int64, what string) {
	if c.enc {
		c.buf = binary.BigEndian.AppendUint64(c.buf, uint64(*v))
		return
	}
	if b := c.take(8, what); b != nil {
		*v = int64(binary.BigEndian.Uint64(b))
	}
}

func (c *codec) fixed(dst []byte, what string) {
	if c.enc {
		c.buf = append(c.buf, dst...)
		return
	}
	if b := c.take(len(dst), what); b != nil {
		copy(dst, b)
	}
}

// bytes is a uvarint length then the bytes; at most max bytes. Decoded
// slices alias the (already private) input buffer; a zero length decodes
// as nil.
func (c *codec) bytes(v *[]byte, max int, what string) {
	if c.enc {
		c.buf = binary.AppendUvarint(c.buf, uint64(len(*v)))
		c.buf = append(c.buf, *v...)
		return
	}
	var n uint64
	c.uvarint(&n, what)
	if c.err != nil {
		return
	}
	if n > uint64(max) {
		c.fail("%s: %d bytes exceeds limit %d", what, n, max)
		return
	}
	if n == 0 {
		*v = nil
		return
	}
	*v = c.take(int(n), what)
}

func (c *codec) str(v *string, max int, what string) {
	if c.enc {
		c.buf = binary.AppendUvarint(c.buf, uint64(len(*v)))
		c.buf = append(c.buf, *v...)
		return
	}
	var b []byte
	c.bytes(&b, max, what)
	if c.err != nil {
		return
	}
	if !utf8.Valid(b) {
		c.fail("%s: not UTF-8", what)
		return
	}
	*v = string(b)
}

// sig is a signature: empty (unsigned) or exactly 64 bytes.
func (c *codec) sig(v *[]byte) {
	c.bytes(v, crypto.SignatureSize, "signature")
	if !c.enc && c.err == nil && len(*v) != 0 && len(*v) != crypto.SignatureSize {
		c.fail("signature: %d bytes, want 0 or %d", len(*v), crypto.SignatureSize)
	}
}

func (c *codec) keys(v *crypto.PublicKeys, what string) {
	if c.enc {
		if len(v.Sign) != 32 {
			// Encoding zero keys keeps Encode total; decoders see 32 zero bytes.
			c.buf = append(c.buf, make([]byte, 32)...)
		} else {
			c.buf = append(c.buf, v.Sign...)
		}
		c.buf = append(c.buf, v.Box[:]...)
		return
	}
	b := c.take(crypto.PublicSize, what)
	if b == nil {
		return
	}
	v.Sign = b[:32:32]
	copy(v.Box[:], b[32:])
}
