package state

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brine-project/brine/pkg/state/account"
)

func freeGID(t *testing.T) int {
	gs, err := account.Groups()
	if err != nil {
		t.Fatal(err)
	}
	used := map[int]bool{}
	for _, g := range gs {
		used[g.GID] = true
	}
	for gid := 47000 + rand.IntN(1000); ; gid++ {
		if !used[gid] {
			return gid
		}
	}
}

func TestUserGroupStates(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip(err)
	}
	tag := fmt.Sprintf("%06x", rand.IntN(1<<24))
	u, g1, g2, g3 := "brtu"+tag, "brtg1"+tag, "brtg2"+tag, "brtg3"+tag
	home := filepath.Join(t.TempDir(), "home", u)
	t.Cleanup(func() {
		// Through account, which holds the lock other test processes
		// take too.
		account.DeleteUser(context.Background(), u, true, false)
		for _, g := range []string{g1, g2, g3, u} {
			account.DeleteGroup(context.Background(), g)
		}
	})
	gid := freeGID(t)
	hash := `$6$saltsalt$WiDNKEy0pYrwWRPK0vO0Am1Ca1Oo1sYmFRkL3s4FO2Ux6AdoJjVWfq6SFd/nO/XBRxfJg1s6bM3hUhBZXpGdI0`
	r := strings.NewReplacer("U1", u, "G1", g1, "G2", g2, "G3", g3, "GID", fmt.Sprint(gid), "HOME", home, "HASH", hash)
	steps := []struct {
		name  string
		sls   string
		check func(t *testing.T)
	}{
		{"create", `
grp1: {group.present: [{name: G1}, {gid: GID}]}
grp2: {group.present: [{name: G2}]}
usr:
  user.present:
    - name: U1
    - fullname: Brine Test
    - shell: /bin/sh
    - home: HOME
    - groups: [G1, G2]
    - remove_groups: false
    - optional_groups: [no-such-group-brine]
    - password: 'HASH'
    - require:
      - group: grp1
      - group: grp2
grp3:
  group.present:
    - name: G3
    - members: [U1]
    - require: [{user: usr}]
`, func(t *testing.T) {
			usr, _ := account.LookupUser(u)
			if usr == nil || usr.Shell != "/bin/sh" || usr.Home != home || usr.Fullname != "Brine Test" || usr.Password != hash {
				t.Fatalf("user %+v", usr)
			}
			if got := strings.Join(usr.Supplementary(), ","); got != strings.Join([]string{g1, g2, g3}, ",") {
				t.Fatalf("groups %s", got)
			}
			if st, err := os.Stat(home); err != nil || !st.IsDir() {
				t.Fatal("home not created")
			}
			if grp, _ := account.LookupGroup(g1); grp == nil || grp.GID != gid {
				t.Fatalf("group %+v", grp)
			}
		}},
		{"modify", `
usr:
  user.present:
    - name: U1
    - shell: /bin/bash
    - groups: [G1]
    - remove_groups: true
grp3:
  group.present:
    - name: G3
    - members: []
`, func(t *testing.T) {
			usr, _ := account.LookupUser(u)
			if usr.Shell != "/bin/bash" || strings.Join(usr.Supplementary(), ",") != g1 {
				t.Fatalf("user %+v", usr)
			}
		}},
		{"remove", `
usr: {user.absent: [{name: U1}, {purge: true}]}
g1: {group.absent: [{name: G1}, {require: [{user: usr}]}]}
g2: {group.absent: [{name: G2}]}
g3: {group.absent: [{name: G3}]}
`, func(t *testing.T) {
			if usr, _ := account.LookupUser(u); usr != nil {
				t.Fatal("user still there")
			}
			if _, err := os.Stat(home); !os.IsNotExist(err) {
				t.Fatal("home still there")
			}
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			files := map[string]string{"s.sls": r.Replace(st.sls)}
			before := passwdSnapshot(t)
			res, err := applyTree(t, files, Options{Test: true}, "s")
			if err != nil {
				t.Fatal(err)
			}
			for _, tag := range res.Tags() {
				if res[tag].Result != None {
					t.Errorf("test run %s: %v %s", tag, res[tag].Result, res[tag].Comment)
				}
			}
			if passwdSnapshot(t) != before {
				t.Fatal("test=True changed users or groups")
			}
			first, _ := twice(t, files, Options{})
			mustOK(t, first)
			st.check(t)
		})
	}
}

func passwdSnapshot(t *testing.T) string {
	var b strings.Builder
	for _, f := range []string{"/etc/passwd", "/etc/group", "/etc/shadow"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}
