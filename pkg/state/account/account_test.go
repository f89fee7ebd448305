package account

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	oldP, oldG, oldS := PasswdFile, GroupFile, ShadowFile
	t.Cleanup(func() { PasswdFile, GroupFile, ShadowFile = oldP, oldG, oldS })
	PasswdFile = write("passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice A,,,:/home/alice:/bin/sh\n")
	GroupFile = write("group", "root:x:0:\nalice:x:1000:\nwww:x:33:alice,bob\nadm:x:4:alice\n")
	ShadowFile = write("shadow", "alice:$6$x$y:19000:0:99999:7:::\n")
	u, err := LookupUser("alice")
	if err != nil || u == nil {
		t.Fatal(u, err)
	}
	if u.Fullname != "Alice A" || u.Password != "$6$x$y" || strings.Join(u.Groups, ",") != "alice,adm,www" {
		t.Fatalf("%+v", u)
	}
	if s := strings.Join(u.Supplementary(), ","); s != "adm,www" {
		t.Fatalf("supplementary %s", s)
	}
	g, _ := LookupGroup("www")
	if g == nil || g.GID != 33 || strings.Join(g.Members, ",") != "alice,bob" {
		t.Fatalf("%+v", g)
	}
	if none, _ := LookupUser("nobody-here"); none != nil {
		t.Fatal("found a missing user")
	}
	if gid, err := ResolveGID("www"); err != nil || gid != 33 {
		t.Fatal(gid, err)
	}
	if _, err := ResolveGID("nope"); err == nil {
		t.Fatal("missing group resolved")
	}
}
