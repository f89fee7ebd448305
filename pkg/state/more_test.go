package state

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	cases := []struct {
		name, a, b, want string
	}{
		{"change in middle", "a\nb\nc\n", "a\nB\nc\n", "--- \n+++ \n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"append", "a\n", "a\nb\n", "--- \n+++ \n@@ -1 +1,2 @@\n a\n+b\n"},
		{"from empty", "", "x\n", "--- \n+++ \n@@ -0,0 +1 @@\n+x\n"},
		{"no final newline", "a", "b", "--- \n+++ \n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n"},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "x\n2\n3\n4\n5\n6\n7\n8\n9\ny\n",
			"--- \n+++ \n@@ -1,4 +1,4 @@\n-1\n+x\n 2\n 3\n 4\n@@ -7,4 +7,4 @@\n 7\n 8\n 9\n-10\n+y\n"},
		{"binary", "a\x00", "b", "Replace binary file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := unifiedDiff([]byte(tc.a), []byte(tc.b)); got != tc.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestMoreRequisites(t *testing.T) {
	cases := []struct {
		name     string
		sls      string
		want     string
		comments map[string]string
	}{
		{"prereq whose state fails stops its target", `
deploy: {test.succeed_with_changes: []}
stop:
  test.fail_with_changes:
    - prereq: [deploy]
`, "stop=False deploy=False", map[string]string{"deploy": "One or more requisite failed: s.stop"}},
		{"require_any needs one success", `
a: {test.fail_without_changes: []}
b: {test.succeed_without_changes: []}
c:
  test.nop:
    - require_any: [a, b]
d:
  test.nop:
    - require_any: [a]
`, "a=False b=True c=True d=False", nil},
		{"check_cmd fails a state", `
a: {test.succeed_with_changes: [{check_cmd: "false"}]}
b: {test.succeed_with_changes: [{check_cmd: ["true"]}]}
`, "a=False b=True", map[string]string{"a": "check_cmd determined the state failed"}},
		{"glob requisite on names", `
files:
  test.succeed_with_changes:
    - names: [/etc/one.conf, /etc/two.conf]
after:
  test.succeed_without_changes:
    - watch:
      - test: /etc/*.conf
`, "files=True files=True after=True", map[string]string{"after": "Watch statement fired."}},
		{"onchanges_all and onfail_all", `
c1: {test.succeed_with_changes: []}
c2: {test.succeed_without_changes: []}
f1: {test.fail_without_changes: []}
f2: {test.fail_without_changes: []}
all_changed:
  test.nop:
    - onchanges_all: [c1, c2]
one_changed:
  test.nop:
    - onchanges_all: [c1]
all_failed:
  test.nop:
    - onfail_all: [f1, f2]
not_all_failed:
  test.nop:
    - onfail_all: [f1, c2]
`, "c1=True c2=True f1=False f2=False all_changed=True one_changed=True all_failed=True not_all_failed=True",
			map[string]string{"all_changed": "not all of the onchanges reqs changed", "one_changed": "Success!", "all_failed": "Success!", "not_all_failed": "onfail req did not change"}},
		{"chain of onfail and onchanges", `
try: {test.fail_with_changes: []}
fallback:
  test.succeed_with_changes:
    - onfail: [try]
notify:
  test.succeed_with_changes:
    - onchanges: [fallback]
`, "try=False fallback=True notify=True", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := applyTree(t, map[string]string{"s.sls": tc.sls}, Options{}, "s")
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(summary(res), " "); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
			for id, sub := range tc.comments {
				if r := byID(res, id); r == nil || !strings.Contains(r.Comment, sub) {
					t.Errorf("%s: comment %q, want %q", id, commentOf(r), sub)
				}
			}
		})
	}
}

func TestSingleAndExclude(t *testing.T) {
	dir := t.TempDir()
	e := New(nil, Deps{Renderer: YAMLRenderer{}}, Options{})
	args := NewMap()
	args.Set("name", dir+"/single.txt")
	args.Set("contents", "hi")
	res, err := e.Single(context.Background(), "file.managed", args)
	if err != nil {
		t.Fatal(err)
	}
	if r := res["file_|-"+dir+"/single.txt_|-"+dir+"/single.txt_|-managed"]; r == nil || r.Result != True {
		t.Fatalf("single: %v", res)
	}
	if _, err := e.Single(context.Background(), "file.manged", args); !errors.Is(err, ErrUnknownFunction) {
		t.Fatalf("typo: %v", err)
	}
	files := map[string]string{"s.sls": "include: [o]\nkeep: {test.nop: []}\ndrop: {test.nop: []}\n", "o.sls": "other: {test.nop: []}\n"}
	res, err = applyTree(t, files, Options{Exclude: []any{"o", mapOf("id", "drop")}}, "s")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(summary(res), " "); got != "keep=True" {
		t.Fatalf("exclude: %s", got)
	}
}

// mapOf builds a one-key Map (test helper).
func mapOf(k string, v any) *Map {
	m := NewMap()
	m.Set(k, v)
	return m
}

func TestDecodeYAMLAliases(t *testing.T) {
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	cases := []struct {
		name, src, wantErr string
	}{
		{"self reference", "a: &x [1, *x]\n", "contains itself"},
		{"billion laughs", laughs, "expands to more than"},
		{"merge key and order", "base: &b {x: 1, y: 2}\nz:\n  <<: *b\n  w: 3\n", ""},
		{"leading zero int", "mode: 0644\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := DecodeYAML([]byte(tc.src))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := v.(*Map)
			switch tc.name {
			case "merge key and order":
				z := m.Values["z"].(*Map)
				if strings.Join(z.Keys, ",") != "x,y,w" {
					t.Fatalf("keys %v", z.Keys)
				}
			case "leading zero int":
				if m.Values["mode"] != int64(644) {
					t.Fatalf("mode %v", m.Values["mode"])
				}
			}
		})
	}
}

func TestRetry(t *testing.T) {
	dir := t.TempDir()
	// Fails until its third call.
	sls := sub(`
flaky:
  cmd.run:
    - name: echo x >> DIR/n; test $(wc -l < DIR/n) -ge 3
    - retry:
        attempts: 5
        interval: 0
hopeless:
  cmd.run:
    - name: echo y >> DIR/m; false
    - retry: {attempts: 2, interval: 0}
`, "DIR", dir)
	res, err := applyTree(t, map[string]string{"s.sls": sls}, Options{}, "s")
	if err != nil {
		t.Fatal(err)
	}
	if r := byID(res, "flaky"); r.Result != True || strings.Count(r.Comment, "Attempt") != 2 {
		t.Fatalf("flaky: %v %q", r.Result, r.Comment)
	}
	if r := byID(res, "hopeless"); r.Result != False || readFile(t, dir+"/m") != "y\ny\n" {
		t.Fatalf("hopeless: %v %q", r.Result, r.Comment)
	}
}
