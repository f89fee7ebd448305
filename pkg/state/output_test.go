package state

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFormatHighstate(t *testing.T) {
	res, err := applyTree(t, map[string]string{"s.sls": "ok: {test.succeed_without_changes: []}\nch: {test.succeed_with_changes: []}\nbad: {test.fail_without_changes: []}\n"}, Options{}, "s")
	if err != nil {
		t.Fatal(err)
	}
	// What brinectl gets: the JSON-decoded form.
	b, _ := json.Marshal(res)
	var decoded map[string]any
	json.Unmarshal(b, &decoded)
	cases := []struct {
		name string
		ret  any
		opts OutputOptions
		want []string // in this order
		not  []string
	}{
		{"results, failures first", res, OutputOptions{}, []string{"web1:", "ID: bad", "ID: ok", "ID: ch", "testing:", "Succeeded: 2 (changed=1)", "Failed:    1", "Total states run:      3"}, nil},
		{"decoded JSON", decoded, OutputOptions{}, []string{"ID: bad", "Function: test.fail_without_changes", "Result: False"}, nil},
		{"only changes", res, OutputOptions{OnlyChanges: true}, []string{"ID: bad", "ID: ch"}, []string{"ID: ok"}},
		{"compile errors", []any{"state: compile: requisite cycle: a -> b"}, OutputOptions{}, []string{"Data failed to compile", "requisite cycle"}, nil},
		{"color", res, OutputOptions{Color: true}, []string{"\x1b[0;31m"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			FormatHighstate(&out, "web1", tc.ret, tc.opts)
			s := out.String()
			pos := 0
			for _, w := range tc.want {
				i := strings.Index(s[pos:], w)
				if i < 0 {
					t.Fatalf("%q not found (in order) in:\n%s", w, s)
				}
				pos += i
			}
			for _, n := range tc.not {
				if strings.Contains(s, n) {
					t.Fatalf("%q should be hidden:\n%s", n, s)
				}
			}
		})
	}
}
