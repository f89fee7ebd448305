package module

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/brine-project/brine/pkg/state/account"
)

func TestUserGroupFunctions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	tag := fmt.Sprintf("%06x", rand.IntN(1<<24))
	u, g := "brmu"+tag, "brmg"+tag
	t.Cleanup(func() {
		ctx := context.Background()
		account.DeleteUser(ctx, u, true, false)
		account.DeleteGroup(ctx, g)
		account.DeleteGroup(ctx, u)
	})
	ctx := context.Background()
	call := func(fun string, args ...any) any {
		t.Helper()
		v, err := Default.Call(ctx, nil, fun, args, nil)
		if err != nil {
			t.Fatalf("%s: %v", fun, err)
		}
		return v
	}
	steps := []struct {
		fun  string
		args []any
		want string // fmt of the result, or "" to skip the comparison
	}{
		{"group.add", []any{g}, "true"},
		{"user.add", []any{u, "shell=/bin/sh", "createhome=False", "groups=" + g}, "true"},
		{"user.list_groups", []any{u}, fmt.Sprintf("[%s %s]", u, g)},
		{"group.deluser", []any{g, u}, "true"},
		{"group.info", []any{g}, ""},
		{"user.delete", []any{u}, "true"},
		{"user.info", []any{u}, "map[]"},
		{"group.delete", []any{g}, "true"},
		{"group.info", []any{g}, "map[]"},
	}
	for i, s := range steps {
		t.Run(fmt.Sprintf("%d_%s", i, s.fun), func(t *testing.T) {
			got := call(s.fun, s.args...)
			if s.want != "" && fmt.Sprint(got) != s.want {
				t.Fatalf("got %v, want %s", got, s.want)
			}
			if s.fun == "group.info" && s.want == "" {
				if m := got.(map[string]any); m["name"] != g || len(m["members"].([]any)) != 0 {
					t.Fatalf("group.info %v", m)
				}
			}
		})
	}
}
