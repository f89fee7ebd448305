// Package fileperm reads and writes file modes the way Salt does: four
// octal digits ("0644", with setuid/setgid/sticky as 4000/2000/1000), and a
// mode given as a number means its digits ("644" and 644 are both 0644).
// Execution functions and states share it so both read modes alike.
package fileperm

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// String renders m as Salt does: "0644", "4755".
func String(m fs.FileMode) string {
	bits := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		bits |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		bits |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		bits |= 0o1000
	}
	return fmt.Sprintf("%04o", bits)
}

// FromBits maps Unix permission bits (setuid/setgid/sticky included) to Go's.
func FromBits(n uint32) fs.FileMode {
	m := fs.FileMode(n & 0o777)
	if n&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if n&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if n&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// Parse reads a mode whose digits are octal whether it arrives as the
// string "0644", "644", "0o644" or the number 644.
func Parse(v any) (fs.FileMode, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case int64:
		s = strconv.FormatInt(x, 10)
	case int:
		s = strconv.Itoa(x)
	case float64:
		if x != float64(int64(x)) {
			return 0, fmt.Errorf("mode %v is not an integer", x)
		}
		s = strconv.FormatInt(int64(x), 10)
	default:
		return 0, fmt.Errorf("mode is %T, want an octal string like \"0644\"", v)
	}
	digits := strings.TrimLeft(strings.TrimSpace(s), "0oO")
	if digits == "" {
		digits = "0"
	}
	n, err := strconv.ParseUint(digits, 8, 32)
	if err != nil || n > 0o7777 {
		return 0, fmt.Errorf("mode %q is not an octal mode between 0000 and 7777", s)
	}
	return FromBits(uint32(n)), nil
}
