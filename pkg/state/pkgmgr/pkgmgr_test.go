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

func TestParseCandidates(t *testing.T) {
	text := "git:\n  Installed: 1:2.39.5-0+deb12u3\n  Candidate: 1:2.39.5-0+deb12u3\n  Version table:\n *** 1:2.39.5-0+deb12u3 500\n" +
		"dpkg:\n  Installed: 1.21.22\n  Candidate: 1.21.23\n  Version table:\n     1.21.23 500\n" +
		"ghost:\n  Installed: (none)\n  Candidate: (none)\n"
	got := map[string]string{}
	parseCandidates(text, got)
	want := map[string]string{"git": "1:2.39.5-0+deb12u3", "dpkg": "1.21.23"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
