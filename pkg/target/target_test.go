package target

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// fleet is a small set of minions with grains shaped like pkg/grains output
// (web1's grains went through JSON, as on the master, so numbers are float64).
func fleet(t *testing.T) map[string]Minion {
	t.Helper()
	var web1Grains map[string]any
	err := json.Unmarshal([]byte(`{
		"os": "Debian", "os_family": "Debian", "osmajorrelease": 12, "num_cpus": 2,
		"roles": ["web", "cache"], "virtual": "kvm", "ready": true,
		"ipv4": ["127.0.0.1", "10.0.0.5"], "ipv6": ["::1", "fe80::1%eth0"],
		"nested": {"a": {"b": "deep"}, "url": "http://x:80"},
		"disks": [{"name": "sda"}, {"name": "sdb"}]
	}`), &web1Grains)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Minion{
		"web1": {ID: "web1", Grains: web1Grains, Pillar: map[string]any{
			"role": "frontend", "tier": map[string]any{"name": "Gold"}, "ports": []any{80, 443},
		}},
		"web2": {ID: "web2", Grains: map[string]any{
			"os": "Ubuntu", "os_family": "Debian", "roles": []string{"web"},
			"ipv4": []string{"10.0.0.6"}, "num_cpus": 8,
		}, Pillar: map[string]any{"role": "frontend"}},
		"db1": {ID: "db1", Grains: map[string]any{
			"os": "CentOS", "os_family": "RedHat", "roles": []any{"db"},
			"ipv4": []any{"10.0.1.7"}, "ipv6": []any{"2001:db8::7"},
		}, Pillar: map[string]any{"role": "backend", "tier": map[string]any{"name": "silver"}}},
		"web-dc1-srv3": {ID: "web-dc1-srv3", Grains: map[string]any{"os": "Arch"}},
		"Mixed.Case":   {ID: "Mixed.Case"},
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	ms := fleet(t)
	m := &Matcher{Nodegroups: map[string]string{
		"webs":    "web*",
		"debians": "G@os_family:Debian",
		"both":    "N@webs and N@debians",
		"plain":   "web2 db1",
		"commas":  "web1,db1",
		"globs":   "db* Mixed*",
		"notdb":   "not N@dbs",
		"dbs":     "L@db1",
	}}
	cases := []struct {
		name, tgt, typ string
		want           []string
	}{
		{"glob default type", "web*", "", []string{"web-dc1-srv3", "web1", "web2"}},
		{"glob star", "*", "glob", []string{"Mixed.Case", "db1", "web-dc1-srv3", "web1", "web2"}},
		{"glob exact", "db1", "glob", []string{"db1"}},
		{"glob class", "web[1-2]", "glob", []string{"web1", "web2"}},
		{"glob negated class", "web[!1]", "glob", []string{"web2"}},
		{"glob question", "db?", "glob", []string{"db1"}},
		{"glob case-sensitive", "mixed*", "glob", nil},
		{"glob dot is literal", "Mixed?Case", "glob", []string{"Mixed.Case"}},
		{"glob unclosed bracket literal", "web[", "glob", nil},
		{"pcre anchored at start only", `web\d`, "pcre", []string{"web1", "web2"}},
		{"pcre alternation", "(db|web)1", "pcre", []string{"db1", "web1"}},
		{"pcre end anchor", `web-dc1-srv.*$`, "pcre", []string{"web-dc1-srv3"}},
		{"list", "web1,db1,nope", "list", []string{"db1", "web1"}},
		{"list with spaces", "web1, db1", "list", []string{"db1", "web1"}},
		{"grain", "os:Debian", "grain", []string{"web1"}},
		{"grain case-insensitive", "os:debian", "grain", []string{"web1"}},
		{"grain glob", "os:*bu*", "grain", []string{"web2"}},
		{"grain shared family", "os_family:Debian", "grain", []string{"web1", "web2"}},
		{"grain list element", "roles:web", "grain", []string{"web1", "web2"}},
		{"grain list glob", "roles:ca*", "grain", []string{"web1"}},
		{"grain nested", "nested:a:b:deep", "grain", []string{"web1"}},
		{"grain value with colon", "nested:url:http://x:80", "grain", []string{"web1"}},
		{"grain json number", "osmajorrelease:12", "grain", []string{"web1"}},
		{"grain go int", "num_cpus:8", "grain", []string{"web2"}},
		{"grain bool", "ready:true", "grain", []string{"web1"}},
		{"grain key exists", "nested:*", "grain", []string{"web1"}},
		{"grain dict key", "nested:a", "grain", []string{"web1"}},
		{"grain list of dicts", "disks:name:sdb", "grain", []string{"web1"}},
		{"grain list index", "roles:1:cache", "grain", []string{"web1"}},
		{"grain missing", "nosuch:x", "grain", nil},
		{"grain_pcre", "os:(Deb|Ubu)", "grain_pcre", []string{"web1", "web2"}},
		{"grain_pcre case-insensitive", `os:cent`, "grain_pcre", []string{"db1"}},
		{"pillar", "role:frontend", "pillar", []string{"web1", "web2"}},
		{"pillar nested", "tier:name:gold", "pillar", []string{"web1"}},
		{"pillar number list", "ports:443", "pillar", []string{"web1"}},
		{"pillar_pcre", "role:(front|back)", "pillar_pcre", []string{"db1", "web1", "web2"}},
		{"pillar_exact no glob", "role:front*", "pillar_exact", nil},
		{"pillar_exact", "role:backend", "pillar_exact", []string{"db1"}},
		{"ipcidr network", "10.0.0.0/24", "ipcidr", []string{"web1", "web2"}},
		{"ipcidr host bits forgiven", "10.0.0.9/16", "ipcidr", []string{"db1", "web1", "web2"}},
		{"ipcidr single ip", "10.0.1.7", "ipcidr", []string{"db1"}},
		{"ipcidr v6 net", "2001:db8::/32", "ipcidr", []string{"db1"}},
		{"ipcidr v6 zoned", "fe80::/10", "ipcidr", []string{"web1"}},
		{"compound issue example", "webserv* and G@os:Debian or E@web-dc1-srv.*", "compound", []string{"web-dc1-srv3"}},
		{"compound and", "web* and G@os:Debian", "compound", []string{"web1"}},
		{"compound or", "L@db1 or G@os:Ubuntu", "compound", []string{"db1", "web2"}},
		{"compound not", "not web*", "compound", []string{"Mixed.Case", "db1"}},
		{"compound implicit and not", "web* not G@os:Debian", "compound", []string{"web-dc1-srv3", "web2"}},
		{"compound and binds tighter than or", "db1 or web1 and G@os:Ubuntu", "compound", []string{"db1"}},
		{"compound parentheses", "( db1 or web1 ) and G@os:Debian", "compound", []string{"web1"}},
		{"compound parentheses attached", "(db1 or web1) and not G@os:CentOS", "compound", []string{"web1"}},
		{"compound not binds tighter than and", "not db1 and not web*", "compound", []string{"Mixed.Case"}},
		{"compound not not", "not not db1", "compound", []string{"db1"}},
		{"compound regex group kept", "E@web(1|2)", "compound", []string{"web1", "web2"}},
		{"compound regex group in parens", "(E@web(1|2)) and G@os:Ubuntu", "compound", []string{"web2"}},
		{"compound S@", "S@10.0.1.0/24 or S@10.0.0.5", "compound", []string{"db1", "web1"}},
		{"compound I@ J@", "I@role:frontend and not J@tier:name:^G", "compound", []string{"web2"}},
		{"compound P@", "P@os:^(centos|arch)$", "compound", []string{"db1", "web-dc1-srv3"}},
		{"compound L@", "L@web1,web2 and G@roles:web", "compound", []string{"web1", "web2"}},
		{"compound N@", "N@webs and not N@debians", "compound", []string{"web-dc1-srv3"}},
		{"compound nested nodegroups", "N@both", "compound", []string{"web1", "web2"}},
		{"nodegroup type", "both", "nodegroup", []string{"web1", "web2"}},
		{"nodegroup plain names", "plain", "nodegroup", []string{"db1", "web2"}},
		{"nodegroup comma list", "commas", "nodegroup", []string{"db1", "web1"}},
		{"nodegroup globs without operators", "globs", "nodegroup", []string{"Mixed.Case", "db1"}},
		{"nodegroup starting with not", "N@notdb and web*", "compound", []string{"web-dc1-srv3", "web1", "web2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			typ := tc.typ
			if typ == "nodegroup" && strings.Contains(tc.tgt, " ") {
				typ = "compound"
			}
			var got []string
			for _, id := range sortedIDs(ms) {
				ok, err := m.Match(tc.tgt, typ, ms[id])
				if err != nil {
					t.Fatalf("Match(%q, %q): %v", tc.tgt, typ, err)
				}
				if ok {
					got = append(got, id)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("Match(%q, %q) selected %q, want %q", tc.tgt, typ, got, tc.want)
			}
			if tc.typ != "nodegroup" && !strings.Contains(tc.tgt, "N@") {
				if err := Validate(tc.tgt, typ); err != nil {
					t.Errorf("Validate(%q, %q): %v", tc.tgt, typ, err)
				}
			}
		})
	}
}

func sortedIDs(ms map[string]Minion) []string {
	ids := []string{"Mixed.Case", "db1", "web-dc1-srv3", "web1", "web2"}
	if len(ids) != len(ms) {
		panic("fleet changed")
	}
	return ids
}

func TestErrors(t *testing.T) {
	t.Parallel()
	m := &Matcher{Nodegroups: map[string]string{
		"a": "N@b or web1", "b": "N@c", "c": "N@a", "self": "N@self",
		"bad": "web1 and", "empty": "  ",
	}}
	cases := []struct {
		name, tgt, typ string
		is             error
		contains       string
	}{
		{"unknown type", "x", "range", ErrUnknownType, `"range"`},
		{"empty glob", "", "glob", ErrSyntax, "empty pattern"},
		{"bad pcre", "web(", "pcre", ErrSyntax, "missing closing )"},
		{"grain without colon", "os", "grain", ErrSyntax, "want key:value"},
		{"grain empty key", ":Debian", "grain", ErrSyntax, "want key:value"},
		{"grain_pcre bad regex", "os:Deb(", "grain_pcre", ErrSyntax, "missing closing )"},
		{"pillar without colon", "role", "pillar", ErrSyntax, "pillar"},
		{"ipcidr bad", "10.0.0.300/24", "ipcidr", ErrSyntax, "not an IP"},
		{"compound empty", "   ", "compound", ErrSyntax, "empty expression"},
		{"compound leading and", "and web1", "compound", ErrSyntax, `unexpected "and" at word 1 (offset 0)`},
		{"compound trailing or", "web1 or", "compound", ErrSyntax, `ends after "or" at word 2`},
		{"compound missing operator", "web1 web2", "compound", ErrSyntax, `expected and/or before "web2" at word 2 (offset 5)`},
		{"compound double operator", "web1 and or db1", "compound", ErrSyntax, `unexpected "or" at word 3`},
		{"compound unclosed paren", "( web1 or db1", "compound", ErrSyntax, "unclosed"},
		{"compound extra close", "web1 )", "compound", ErrSyntax, `unbalanced ")" at word 2`},
		{"compound empty parens", "( )", "compound", ErrSyntax, `unexpected ")"`},
		{"compound and after paren", "( and web1 )", "compound", ErrSyntax, `unexpected "and"`},
		{"compound unknown engine", "web1 and X@foo", "compound", ErrSyntax, `unknown matcher "X@" in "X@foo" at word 3`},
		{"compound range", "R@%foo", "compound", ErrSyntax, "not supported"},
		{"compound empty engine pattern", "G@", "compound", ErrSyntax, "empty pattern"},
		{"compound bad grain", "web1 or G@os", "compound", ErrSyntax, `want key:value`},
		{"compound bad grain names word", "web1 or G@os", "compound", ErrSyntax, `at word 3`},
		{"compound bad regex", "E@web(", "compound", ErrSyntax, "E@web("},
		{"compound empty nodegroup name", "N@", "compound", ErrSyntax, "empty nodegroup"},
		{"unknown nodegroup", "N@nope", "compound", ErrNodegroup, `unknown nodegroup "nope" at word 1`},
		{"nodegroup cycle", "a", "nodegroup", ErrNodegroup, "cycle a -> b -> c -> a"},
		{"nodegroup self cycle", "web1 or N@self", "compound", ErrNodegroup, "cycle self -> self"},
		{"nodegroup syntax error", "bad", "nodegroup", ErrSyntax, `nodegroup "bad"`},
		{"nodegroup empty definition", "empty", "nodegroup", ErrNodegroup, "empty"},
		{"nodegroup empty name", " ", "nodegroup", ErrSyntax, "empty name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := m.Match(tc.tgt, tc.typ, Minion{ID: "web1"})
			if err == nil {
				t.Fatalf("Match(%q, %q): no error", tc.tgt, tc.typ)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not mention %q", err, tc.contains)
			}
			if !strings.HasPrefix(err.Error(), "target: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestValidateWithoutNodegroups(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ tgt, typ string }{
		{"N@anything and web*", "compound"},
		{"anything", "nodegroup"},
	} {
		if err := Validate(tc.tgt, tc.typ); err != nil {
			t.Errorf("Validate(%q, %q): %v", tc.tgt, tc.typ, err)
		}
	}
	if err := Validate("N@x and", "compound"); !errors.Is(err, ErrSyntax) {
		t.Errorf("Validate of a dangling and: %v, want ErrSyntax", err)
	}
}

func TestFilterAndCompileOnce(t *testing.T) {
	t.Parallel()
	ms := fleet(t)
	var list []Minion
	for _, id := range sortedIDs(ms) {
		list = append(list, ms[id])
	}
	tg, err := (&Matcher{}).Compile("G@os_family:Debian or db*", "compound")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mn := range tg.Filter(list) {
		got = append(got, mn.ID)
	}
	if want := "db1 web1 web2"; strings.Join(got, " ") != want {
		t.Errorf("Filter = %q, want %q", got, want)
	}
	ids, err := tg.Select(list)
	if err != nil || strings.Join(ids, " ") != "db1 web1 web2" {
		t.Errorf("Select = %q, %v", ids, err)
	}
	none, _ := (&Matcher{}).Compile("nothing*", "")
	if _, err := none.Select(list); !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), `glob "nothing*"`) {
		t.Errorf("Select of nothing: %v", err)
	}
	var nilMatcher *Matcher
	if ok, err := nilMatcher.Match("web1", "", Minion{ID: "web1"}); err != nil || !ok {
		t.Errorf("nil Matcher: %v %v", ok, err)
	}
}

func TestTgtString(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   any
		want string
		err  bool
	}{
		{"string", "a,b", "a,b", false},
		{"strings", []string{"a", "b"}, "a,b", false},
		{"json list", []any{"a", "b"}, "a,b", false},
		{"json list with number", []any{"a", 1.0}, "", true},
		{"number", 5.0, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := TgtString(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("TgtString(%v) = %q, %v", tc.in, got, err)
			}
		})
	}
}

func TestFnmatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pat, name string
		want      bool
	}{
		{"*", "", true},
		{"*", "a/b.c", true},
		{"a*c", "abbbc", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"[abc]x", "bx", true},
		{"[!abc]x", "bx", false},
		{"[!abc]x", "dx", true},
		{"[a-c]", "b", true},
		{"[]]", "]", true},
		{"[!]]", "a", true},
		{"a[", "a[", true},
		{`a\b`, `a\b`, true},
		{"[\\]", `\`, true},
		{"a^b", "a^b", true},
		{"[^a]", "^", true},
		{"x.y", "xzy", false},
		{"ABC", "abc", false},
		{"***a", "bba", true},
	}
	for _, tc := range cases {
		t.Run(tc.pat+"~"+tc.name, func(t *testing.T) {
			if got := Fnmatch(tc.pat, tc.name); got != tc.want {
				t.Errorf("Fnmatch(%q, %q) = %v, want %v (regex %s)", tc.pat, tc.name, got, tc.want, globRegex(tc.pat))
			}
		})
	}
}

func TestTraverse(t *testing.T) {
	t.Parallel()
	data := map[string]any{
		"a":     map[string]any{"b": map[string]any{"c": "deep"}},
		"list":  []any{"x", "y", "z"},
		"dicts": []any{map[string]any{"k": 1}, map[string]any{"j": 2}},
		"strs":  []string{"p", "q"},
		"typed": map[string]string{"t": "v"},
		"nil":   nil,
	}
	cases := []struct {
		name, path, delim string
		want              any
	}{
		{"top", "list", "", data["list"]},
		{"nested", "a:b:c", "", "deep"},
		{"custom delimiter", "a.b.c", ".", "deep"},
		{"index", "list:1", "", "y"},
		{"negative index", "list:-1", "", "z"},
		{"index out of range", "list:7", "", "DEF"},
		{"embedded dict", "dicts:j", "", 2},
		{"string slice", "strs:1", "", "q"},
		{"typed map", "typed:t", "", "v"},
		{"missing", "a:x", "", "DEF"},
		{"through scalar", "a:b:c:d", "", "DEF"},
		{"nil value found", "nil", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Traverse(data, tc.path, "DEF", tc.delim)
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tc.want)
			if string(gj) != string(wj) {
				t.Errorf("Traverse(%q) = %s, want %s", tc.path, gj, wj)
			}
		})
	}
	if _, ok := Lookup(data, "a:b", ""); !ok {
		t.Error("Lookup a:b not found")
	}
}

func TestPyStr(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   any
		want string
	}{
		{nil, "None"}, {true, "True"}, {false, "False"}, {12.0, "12"}, {12.5, "12.5"},
		{int64(3), "3"}, {"s", "s"}, {float32(2), "2"},
	}
	for _, tc := range cases {
		if got := PyStr(tc.in); got != tc.want {
			t.Errorf("PyStr(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzCompound(f *testing.F) {
	for _, s := range []string{"web* and G@os:Debian or E@web-dc1-srv.*", "( a or b ) and not c", "N@x", "(E@a(b)) and", "not not"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := &Matcher{Nodegroups: map[string]string{"x": "N@y or a", "y": "b"}}
		tg, err := m.Compile(s, Compound)
		if err != nil {
			return
		}
		tg.Match(Minion{ID: "a", Grains: map[string]any{"os": "Debian"}})
	})
}

func BenchmarkCompoundFilter(b *testing.B) {
	ms := make([]Minion, 1000)
	for i := range ms {
		ms[i] = Minion{ID: "web" + string(rune('a'+i%26)), Grains: map[string]any{"os": "Debian", "roles": []any{"web", "db"}}}
	}
	tg, err := (&Matcher{}).Compile("web* and G@os:Deb* and not G@roles:mail", Compound)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		tg.Filter(ms)
	}
}
