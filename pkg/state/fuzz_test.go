package state

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzCompile feeds arbitrary SLS text to the compiler and requisite
// resolver: errors are fine, panics and hangs are not. Nothing is run.
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		"a: {test.nop: []}\n",
		"a:\n  test.nop:\n    - require: [b]\nb:\n  test.nop:\n    - watch_in: [{test: a}]\n",
		"include: [.x, ..y]\nextend:\n  a: {test: [{order: last}]}\n",
		"a:\n  file.managed:\n    - names:\n      - /x: [{mode: 644}, {require: [{sls: s}]}]\n    - use: [q]\n",
		"exclude: [{id: a}, {sls: '*'}]\na: pkg.installed\n",
		"a: {test.nop: [{prereq: [a]}, {listen_in: ['*']}, {onfail_any: [{id: a}]}]}\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, sls string) {
		root := t.TempDir()
		if err := os.WriteFile(filepath.Join(root, "s.sls"), []byte(sls), 0o644); err != nil {
			t.Fatal(err)
		}
		e := New(nil, Deps{Files: DirFiles{Roots: map[string][]string{"base": {root}}}, Renderer: YAMLRenderer{}}, Options{})
		h, err := e.CompileSLS(context.Background(), "", "s")
		if err != nil {
			return
		}
		h.Data()
		chunks, err := e.Lowstate(h)
		if err != nil {
			return
		}
		for _, c := range chunks {
			c.Low()
		}
	})
}
