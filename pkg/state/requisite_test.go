package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (path → content) under a temp root and returns a
// DirFiles serving it as saltenv base.
func writeTree(t *testing.T, files map[string]string) DirFiles {
	t.Helper()
	root := t.TempDir()
	for p, body := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return DirFiles{Roots: map[string][]string{"base": {root}}}
}

func applyTree(t *testing.T, files map[string]string, opts Options, mods ...string) (Results, error) {
	t.Helper()
	e := New(nil, Deps{Files: writeTree(t, files), Renderer: YAMLRenderer{}}, opts)
	return e.ApplySLS(context.Background(), mods...)
}

// summary lists "id=result" in run order.
func summary(r Results) []string {
	var out []string
	for _, tag := range r.Tags() {
		out = append(out, r[tag].ID+"="+r[tag].Result.String())
	}
	return out
}

func byID(r Results, id string) *Result {
	for _, x := range r {
		if x.ID == id {
			return x
		}
	}
	return nil
}

func TestRequisites(t *testing.T) {
	cases := []struct {
		name     string
		files    map[string]string
		test     bool
		want     []string
		comments map[string]string // id → comment substring
		changed  []string          // ids that must report changes
	}{
		{
			name: "definition order",
			files: map[string]string{"s.sls": `
c: {test.succeed_without_changes: []}
a: {test.succeed_without_changes: []}
b: {test.succeed_without_changes: []}
`},
			want: []string{"c=True", "a=True", "b=True"},
		},
		{
			name: "include runs first, relative include",
			files: map[string]string{
				"s.sls":         "include: [web.base]\nmine: {test.nop: []}\n",
				"web/base.sls":  "include: [.extra]\nbase1: {test.nop: []}\n",
				"web/extra.sls": "extra1: {test.nop: []}\n",
			},
			want: []string{"extra1=True", "base1=True", "mine=True"},
		},
		{
			name: "require pulls forward",
			files: map[string]string{"s.sls": `
a:
  test.succeed_without_changes:
    - require:
      - test: b
b: {test.succeed_without_changes: []}
`},
			want: []string{"b=True", "a=True"},
		},
		{
			name: "require failure",
			files: map[string]string{"s.sls": `
b: {test.fail_without_changes: []}
a:
  test.succeed_without_changes:
    - require:
      - b
`},
			want:     []string{"b=False", "a=False"},
			comments: map[string]string{"a": "One or more requisite failed: s.b"},
		},
		{
			name: "require sls",
			files: map[string]string{
				"s.sls":     "include: [other]\na:\n  test.nop:\n    - require:\n      - sls: other\n",
				"other.sls": "o1: {test.nop: []}\no2: {test.fail_without_changes: []}\n",
			},
			want:     []string{"o1=True", "o2=False", "a=False"},
			comments: map[string]string{"a": "other.o2"},
		},
		{
			name: "watch fires mod_watch",
			files: map[string]string{"s.sls": `
svc:
  test.succeed_without_changes:
    - watch:
      - test: conf
conf: {test.succeed_with_changes: []}
`},
			want:     []string{"conf=True", "svc=True"},
			comments: map[string]string{"svc": "Watch statement fired."},
		},
		{
			name: "watch without changes does not fire",
			files: map[string]string{"s.sls": `
conf: {test.succeed_without_changes: []}
svc:
  test.succeed_without_changes:
    - watch: [{test: conf}]
`},
			want:     []string{"conf=True", "svc=True"},
			comments: map[string]string{"svc": "Success!"},
		},
		{
			name: "onchanges met and unmet",
			files: map[string]string{"s.sls": `
quiet: {test.succeed_without_changes: []}
loud: {test.succeed_with_changes: []}
after_quiet:
  test.succeed_with_changes:
    - onchanges: [quiet]
after_loud:
  test.succeed_with_changes:
    - onchanges: [loud]
`},
			want:     []string{"quiet=True", "loud=True", "after_quiet=True", "after_loud=True"},
			comments: map[string]string{"after_quiet": "none of the onchanges reqs changed"},
			changed:  []string{"after_loud"},
		},
		{
			name: "onfail",
			files: map[string]string{"s.sls": `
bad: {test.fail_without_changes: []}
good: {test.succeed_without_changes: []}
rescue:
  test.succeed_with_changes:
    - onfail: [bad]
not_needed:
  test.succeed_with_changes:
    - onfail: [good]
`},
			want:     []string{"bad=False", "good=True", "rescue=True", "not_needed=True"},
			comments: map[string]string{"not_needed": "onfail req did not change"},
			changed:  []string{"rescue"},
		},
		{
			name: "prereq triggered runs before its target",
			files: map[string]string{"s.sls": `
deploy: {test.succeed_with_changes: []}
stop_first:
  test.succeed_with_changes:
    - prereq:
      - test: deploy
`},
			want:    []string{"stop_first=True", "deploy=True"},
			changed: []string{"stop_first", "deploy"},
		},
		{
			name: "prereq not triggered",
			files: map[string]string{"s.sls": `
deploy: {test.succeed_without_changes: []}
stop_first:
  test.succeed_with_changes:
    - prereq: [deploy]
`},
			want:     []string{"stop_first=True", "deploy=True"},
			comments: map[string]string{"stop_first": "No changes detected"},
		},
		{
			name: "listen fires at the end",
			files: map[string]string{"s.sls": `
svc:
  test.succeed_without_changes:
    - listen:
      - test: conf
conf: {test.succeed_with_changes: []}
last: {test.nop: []}
`},
			want:     []string{"svc=True", "conf=True", "last=True", "listener_svc=True"},
			comments: map[string]string{"listener_svc": "Watch statement fired."},
		},
		{
			name: "use copies arguments",
			files: map[string]string{"s.sls": `
model:
  test.configurable_test_state:
    - changes: false
    - comment: from the model
copy:
  test.configurable_test_state:
    - use:
      - test: model
own:
  test.configurable_test_state:
    - comment: mine
    - use: [model]
`},
			want:     []string{"model=True", "copy=True", "own=True"},
			comments: map[string]string{"copy": "from the model", "own": "mine"},
		},
		{
			name: "_in forms",
			files: map[string]string{"s.sls": `
svc: {test.succeed_without_changes: []}
listener: {test.succeed_without_changes: []}
conf:
  test.succeed_with_changes:
    - require_in: [{test: svc}]
    - watch_in: [svc]
    - listen_in: [listener]
    - onchanges_in: [notify]
notify: {test.succeed_with_changes: []}
rescue: {test.succeed_with_changes: []}
bad:
  test.fail_without_changes:
    - onfail_in: [rescue]
prep:
  test.succeed_with_changes:
    - prereq_in: [conf]
model:
  test.configurable_test_state:
    - comment: modelled
    - use_in: [{test: used}]
used: {test.configurable_test_state: []}
`},
			// prep's prereq_in makes conf a prereq of prep: conf runs only
			// because prep would change, and before it.
			want: []string{"conf=True", "svc=True", "listener=True", "notify=True", "bad=False", "rescue=True", "prep=True", "model=True", "used=True", "listener_listener=True"},
			comments: map[string]string{
				"svc": "Watch statement fired.", "used": "modelled", "listener_listener": "Watch statement fired.",
			},
			changed: []string{"conf", "prep", "notify", "rescue"},
		},
		{
			name: "order first last and numbers",
			files: map[string]string{"s.sls": `
a: {test.nop: [{order: last}]}
b: {test.nop: []}
c: {test.nop: [{order: 1}]}
d: {test.nop: [{order: first}]}
`},
			want: []string{"d=True", "c=True", "b=True", "a=True"},
		},
		{
			name: "names expand in order",
			files: map[string]string{"s.sls": `
pkgs:
  test.configurable_test_state:
    - changes: false
    - names:
      - one
      - two:
        - comment: second
      - three
`},
			want:     []string{"pkgs=True", "pkgs=True", "pkgs=True"},
			comments: map[string]string{},
		},
		{
			name: "extend appends requisites and replaces args",
			files: map[string]string{
				"s.sls": `
include: [base]
extend:
  svc:
    test.configurable_test_state:
      - comment: extended
      - require:
        - test: later
later: {test.nop: []}
`,
				"base.sls": "svc:\n  test.configurable_test_state:\n    - changes: false\n    - comment: original\n    - require: [{test: first}]\nfirst: {test.nop: []}\n",
			},
			want:     []string{"first=True", "later=True", "svc=True"},
			comments: map[string]string{"svc": "extended"},
		},
		{
			name: "exclude",
			files: map[string]string{
				"s.sls":    "include: [gone]\nexclude:\n  - sls: gone\n  - id: skipped\nskipped: {test.nop: []}\nkept: {test.nop: []}\n",
				"gone.sls": "g: {test.nop: []}\n",
			},
			want: []string{"kept=True"},
		},
		{
			name: "failhard stops the run",
			files: map[string]string{"s.sls": `
a: {test.nop: []}
b: {test.fail_without_changes: [{failhard: true}]}
c: {test.nop: []}
`},
			want: []string{"a=True", "b=False"},
		},
		{
			name: "test mode reports would-be changes",
			test: true,
			files: map[string]string{"s.sls": `
a: {test.succeed_with_changes: []}
b:
  test.succeed_without_changes:
    - watch: [a]
c:
  test.succeed_with_changes:
    - onchanges: [a]
`},
			want:     []string{"a=None", "b=True", "c=None"},
			comments: map[string]string{"b": "Watch statement fired.", "a": "If we weren't testing"},
			changed:  []string{"a", "c"},
		},
		{
			name: "unless onlyif creates",
			files: map[string]string{"s.sls": `
u_true: {test.succeed_with_changes: [{unless: "true"}]}
u_mixed: {test.succeed_with_changes: [{unless: ["true", "false"]}]}
o_false: {test.succeed_with_changes: [{onlyif: "false"}]}
o_true: {test.succeed_with_changes: [{onlyif: ["true", "test 1 = 1"]}]}
cr: {test.succeed_with_changes: [{creates: /}]}
w:
  test.succeed_without_changes:
    - watch: [u_true]
`},
			want:     []string{"u_true=True", "u_mixed=True", "o_false=True", "o_true=True", "cr=True", "w=True"},
			comments: map[string]string{"u_true": "unless condition is true", "o_false": "onlyif condition is false", "cr": "All files in creates exist", "w": "Success!"},
			changed:  []string{"u_mixed", "o_true"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := applyTree(t, tc.files, Options{Test: tc.test}, "s")
			if err != nil {
				t.Fatal(err)
			}
			got := summary(res)
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("run order/results:\n got %v\nwant %v", got, tc.want)
			}
			for id, sub := range tc.comments {
				r := byID(res, id)
				if r == nil || !strings.Contains(r.Comment, sub) {
					t.Errorf("%s: comment %q, want it to contain %q", id, commentOf(r), sub)
				}
			}
			for _, id := range tc.changed {
				if r := byID(res, id); r == nil || len(r.Changes) == 0 {
					t.Errorf("%s: want changes", id)
				}
			}
		})
	}
}

func commentOf(r *Result) string {
	if r == nil {
		return "<missing>"
	}
	return r.Comment
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error
	}{
		{"cycle", map[string]string{"s.sls": "a:\n  test.nop:\n    - require: [b]\nb:\n  test.nop:\n    - require: [{test: a}]\n"},
			[]string{"requisite cycle", "test: a", "test: b"}},
		{"watch_in cycle", map[string]string{"s.sls": "a:\n  test.nop:\n    - watch_in: [b]\nb:\n  test.nop:\n    - watch_in: [a]\n"},
			[]string{"requisite cycle"}},
		{"missing id", map[string]string{"s.sls": "a:\n  test.nop:\n    - require:\n      - pkg: nope\n"},
			[]string{"test: a", "pkg: nope", "matches no state"}},
		{"missing include", map[string]string{"s.sls": "include: [nothere]\n"},
			[]string{`"nothere"`, `included from "s"`}},
		{"conflicting ids", map[string]string{"s.sls": "include: [o]\na: {test.nop: []}\n", "o.sls": "a: {test.nop: []}\n"},
			[]string{"conflicting", "base:o", "base:s"}},
		{"bad extend", map[string]string{"s.sls": "extend:\n  ghost:\n    test.nop: []\n"},
			[]string{`cannot extend ID "ghost"`}},
		{"two functions", map[string]string{"s.sls": "a:\n  test:\n    - nop\n    - succeed_with_changes\n"},
			[]string{"too many functions"}},
		{"not a list", map[string]string{"s.sls": "a:\n  test.nop: {x: 1}\n"},
			[]string{"not formatted as a list"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := applyTree(t, tc.files, Options{}, "s")
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestBadArgsFailTheState(t *testing.T) {
	res, err := applyTree(t, map[string]string{"s.sls": "a:\n  test.configurable_test_state:\n    - colour: red\n"}, Options{}, "s")
	if err != nil {
		t.Fatal(err)
	}
	r := byID(res, "a")
	if r.Result != False || !strings.Contains(r.Comment, `colour`) {
		t.Fatalf("got %+v", r)
	}
	if !res.Failed() {
		t.Fatal("Failed() should be true")
	}
}

func TestResultStructure(t *testing.T) {
	res, err := applyTree(t, map[string]string{"s.sls": "the-id:\n  test.succeed_with_changes:\n    - name: the-name\n"}, Options{}, "s")
	if err != nil {
		t.Fatal(err)
	}
	r, ok := res["test_|-the-id_|-the-name_|-succeed_with_changes"]
	if !ok {
		t.Fatalf("keys %v", res.Tags())
	}
	if r.Name != "the-name" || r.ID != "the-id" || r.SLS != "s" || r.RunNum != 0 || r.StartTime == "" || r.Result != True {
		t.Fatalf("got %+v", r)
	}
}

func TestHighstateTop(t *testing.T) {
	files := map[string]string{
		"top.sls": `
base:
  '*':
    - common
  'web*':
    - web
  'db*':
    - match: glob
    - db
`,
		"common.sls": "c: {test.nop: []}\n",
		"web.sls":    "w: {test.nop: []}\n",
		"db.sls":     "d: {test.nop: []}\n",
	}
	e := New(nil, Deps{Files: writeTree(t, files), Renderer: YAMLRenderer{}}, Options{MinionID: "web1"})
	top, err := e.Top(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := Plain(top).(map[string]any)["base"]; len(got.([]any)) != 2 {
		t.Fatalf("top %v", got)
	}
	res, err := e.ApplyHighstate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(summary(res), " "); got != "c=True w=True" {
		t.Fatalf("got %s", got)
	}
	e = New(nil, Deps{Files: writeTree(t, map[string]string{"top.sls": "base:\n  nomatch: [x]\n"}), Renderer: YAMLRenderer{}}, Options{MinionID: "web1"})
	if _, err := e.ApplyHighstate(context.Background()); !errors.Is(err, ErrNoTop) {
		t.Fatalf("want ErrNoTop, got %v", err)
	}
}
