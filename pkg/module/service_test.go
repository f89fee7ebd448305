package module

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestServiceFunctionsRefuseWithoutSystemd(t *testing.T) {
	if b, _ := os.ReadFile("/proc/1/comm"); strings.TrimSpace(string(b)) == "systemd" {
		t.Skip("systemd is PID 1 here")
	}
	for _, fun := range []string{"service.status", "service.restart", "service.enabled"} {
		t.Run(fun, func(t *testing.T) {
			_, err := Default.Call(context.Background(), nil, fun, []any{"cron"}, nil)
			if err == nil || !strings.Contains(err.Error(), "not running as PID 1") {
				t.Fatalf("got %v", err)
			}
		})
	}
}
