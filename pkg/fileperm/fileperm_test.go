package fileperm

import (
	"io/fs"
	"testing"
)

func TestParseAndString(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
		bad  bool
	}{
		{"0644", "0644", false}, {"644", "0644", false}, {int64(644), "0644", false}, {644, "0644", false},
		{float64(755), "0755", false}, {"0o600", "0600", false}, {"4755", "4755", false}, {"1777", "1777", false},
		{"0", "0000", false}, {"888", "", true}, {"17777", "", true}, {6.5, "", true}, {true, "", true},
	} {
		m, err := Parse(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("Parse(%v) err = %v", tc.in, err)
			continue
		}
		if !tc.bad && String(m) != tc.want {
			t.Errorf("Parse(%v) = %s, want %s", tc.in, String(m), tc.want)
		}
	}
	if FromBits(0o4755)&fs.ModeSetuid == 0 || FromBits(0o2755)&fs.ModeSetgid == 0 || FromBits(0o1777)&fs.ModeSticky == 0 {
		t.Fatal("special bits lost")
	}
}
