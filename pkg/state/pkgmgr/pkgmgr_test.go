package pkgmgr

import (
	"context"
	"os/exec"
	"testing"
)

func TestSatisfies(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip(err)
	}
	cases := []struct {
		installed, spec string
		want            bool
	}{
		{"1.2-1", "", true},
		{"1.2-1", "1.2-1", true},
		{"1.2-1", "1.2", true},
		{"1.2-1", "1.3", false},
		{"1:2.39.5-0+deb12u3", "2.39.5", true},
		{"1.2-1", ">=1.0", true},
		{"1.2-1", ">1.2-1", false},
		{"1.10-1", ">1.9", true},
		{"1.2~rc1-1", "<1.2", true},
		{"2.0-1", "<=1.9", false},
		{"2.0-1", "==2.0-1", true},
	}
	for _, tc := range cases {
		t.Run(tc.installed+" "+tc.spec, func(t *testing.T) {
			got, err := Satisfies(context.Background(), Dpkg{}, tc.installed, tc.spec)
			if err != nil || got != tc.want {
				t.Fatalf("Satisfies(%q, %q) = %v, %v; want %v", tc.installed, tc.spec, got, err, tc.want)
			}
		})
	}
}
