package state

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/nikolalohinski/gonja/v2"
	"github.com/nikolalohinski/gonja/v2/exec"
)

func init() { gonja.SetLoggerOutput(io.Discard) }

// jinjaRenderer is a test Renderer: gonja for SLS and file templates, with
// pillar and grains in the context. The minion wires pkg/render instead.
type jinjaRenderer struct{}

func (jinjaRenderer) vars(in RenderInput) map[string]any {
	v := map[string]any{"pillar": in.Pillar, "grains": in.Grains, "saltenv": in.Saltenv, "sls": in.SLS}
	for k, x := range in.Vars {
		v[k] = x
	}
	return v
}

func (j jinjaRenderer) RenderSLS(_ context.Context, src []byte, in RenderInput) (any, error) {
	tpl, err := gonja.FromBytes(src)
	if err != nil {
		return nil, fmt.Errorf("jinja %s: %w", in.Source, err)
	}
	out, err := tpl.ExecuteToString(exec.NewContext(j.vars(in)))
	if err != nil {
		return nil, fmt.Errorf("jinja %s: %w", in.Source, err)
	}
	return DecodeYAML([]byte(out))
}

func (j jinjaRenderer) RenderTemplate(_ context.Context, engine string, src []byte, in RenderInput) (string, error) {
	if engine != "jinja" {
		return "", fmt.Errorf("test renderer: engine %q", engine)
	}
	tpl, err := gonja.FromBytes(src)
	if err != nil {
		return "", err
	}
	out, err := tpl.ExecuteToString(exec.NewContext(j.vars(in)))
	// Salt keeps a template's trailing newline.
	if err == nil && strings.HasSuffix(string(src), "\n") && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return out, err
}

// twice applies files' SLS "s" twice and returns both results; the second
// must report no changes and no failures.
func twice(t *testing.T, files map[string]string, opts Options) (first, second Results) {
	t.Helper()
	fc := writeTree(t, files)
	for i := range 2 {
		e := New(nil, Deps{Files: fc, Renderer: jinjaRenderer{}, CacheDir: t.TempDir()}, opts)
		res, err := e.ApplySLS(context.Background(), "s")
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if i == 0 {
			first = res
			continue
		}
		second = res
	}
	for _, tag := range second.Tags() {
		r := second[tag]
		if r.Result != True || len(r.Changes) > 0 {
			t.Errorf("second run: %s: result %v changes %v comment %q", tag, r.Result, r.Changes, r.Comment)
		}
	}
	return first, second
}

func mustOK(t *testing.T, r Results) {
	t.Helper()
	for _, tag := range r.Tags() {
		if r[tag].Result != True {
			t.Errorf("%s: %v %q", tag, r[tag].Result, r[tag].Comment)
		}
	}
}

func sub(s string, kv ...string) string {
	return strings.NewReplacer(kv...).Replace(s)
}
