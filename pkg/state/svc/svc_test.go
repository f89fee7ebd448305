package svc

import "testing"

func TestUnit(t *testing.T) {
	for in, want := range map[string]string{
		"nginx": "nginx.service", "nginx.service": "nginx.service", "docker.socket": "docker.socket",
		"foo.bar": "foo.bar.service", "backup.timer": "backup.timer",
	} {
		t.Run(in, func(t *testing.T) {
			if got := Unit(in); got != want {
				t.Fatalf("Unit(%q) = %q, want %q", in, got, want)
			}
		})
	}
}
