package masterless

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/brine-project/brine/pkg/state"
)

// BenchmarkHighstate500 applies a 500-state highstate (250 file.directory
// and 250 file.managed rendered from a Jinja template with pillar and
// context) through the real renderer: "cold" onto an empty directory,
// "converged" again with nothing to change.
func BenchmarkHighstate500(b *testing.B) {
	root := b.TempDir()
	files := map[string]string{
		"top.sls": "base:\n  '*':\n    - bench\n",
		"bench/init.sls": `{%- set prefix = salt['pillar.get']('prefix') %}
{%- for i in range(250) %}
dir-{{ i }}:
  file.directory:
    - name: {{ prefix }}/d{{ i }}
    - mode: 755
file-{{ i }}:
  file.managed:
    - name: {{ prefix }}/d{{ i }}/app.conf
    - source: salt://bench/app.conf.j2
    - template: jinja
    - mode: 640
    - context:
        index: {{ i }}
    - require:
      - file: dir-{{ i }}
{%- endfor %}
`,
		"bench/app.conf.j2": `# instance {{ index }}
listen = {{ salt['pillar.get']('port', 80) + index }}
{%- for s in salt['pillar.get']('servers', []) %}
server {{ s }} weight={{ loop.index }}
{%- endfor %}
`,
	}
	for p, body := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	deps := Deps(map[string][]string{"base": {root}}, nil, b.TempDir())
	apply := func(b *testing.B, prefix string) state.Results {
		pillar := map[string]any{"prefix": prefix, "port": 8000, "servers": []any{"a", "b", "c"}}
		res, err := state.New(nil, deps, state.Options{MinionID: "bench", Pillar: pillar}).ApplyHighstate(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if len(res) != 500 || res.Failed() {
			b.Fatalf("%d states, failed=%v", len(res), res.Failed())
		}
		return res
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			prefix, err := os.MkdirTemp(b.TempDir(), "cold")
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			apply(b, prefix)
		}
	})
	b.Run("converged", func(b *testing.B) {
		prefix := b.TempDir()
		apply(b, prefix)
		for b.Loop() {
			res := apply(b, prefix)
			for _, r := range res {
				if len(r.Changes) > 0 {
					b.Fatalf("%s changed on a converged run", r.ID)
				}
			}
		}
	})
}
