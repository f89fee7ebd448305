package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/flosch/pongo2/v6"
)

var djangoOnce sync.Once

// FunctionLister is an optional ability of a Caller: listing the function
// names it serves, so Django templates (which cannot look names up lazily)
// can call them as {{ salt.cmd.run("ls") }}.
type FunctionLister interface {
	Functions() []string
}

// pongoLoader adapts a Loader to pongo2; the root template is served from
// memory.
type pongoLoader struct {
	g *gonjaLoader
}

func (p *pongoLoader) Abs(base, name string) string {
	g := *p.g
	if base != "" {
		g.cur = base
	}
	resolved, err := g.Resolve(name)
	if err != nil {
		// pongo2 has no error path here; an impossible name fails in Get.
		return "\x00" + name
	}
	return resolved
}

func (p *pongoLoader) Get(name string) (io.Reader, error) {
	if strings.HasPrefix(name, "\x00") {
		return nil, fmt.Errorf("render: template path %q escapes the file root", name[1:])
	}
	return p.g.Read(name)
}

func renderDjango(ctx context.Context, name, src string, c Context, l Loader) (out string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &Error{File: name, Stage: "django", Err: fmt.Errorf("template engine failed: %v", p)}
		}
	}()
	// pongo2's autoescape is a package-wide default; Brine is its only user
	// and Salt's django renderer does not escape.
	djangoOnce.Do(func() { pongo2.SetAutoescape(false) })
	gl := &gonjaLoader{ctx: ctx, l: l, root: name, cur: name, sources: &sync.Map{}}
	gl.sources.Store(name, src)
	set := pongo2.NewSet("brine", &pongoLoader{g: gl})
	tpl, err := set.FromFile(name)
	if err != nil {
		return "", djangoError(name, gl, err)
	}
	data := pongo2.Context{}
	for k, v := range contextData(ctx, name, c) {
		data[k] = v
	}
	data["grains"] = c.Grains
	data["pillar"] = c.Pillar
	data["salt"] = djangoSalt(ctx, &c)
	var buf bytes.Buffer
	if err := tpl.ExecuteWriter(data, &buf); err != nil {
		return "", djangoError(name, gl, err)
	}
	return buf.String(), nil
}

// djangoSalt builds salt as nested maps: salt.pillar.get("a:b", "x").
func djangoSalt(ctx context.Context, c *Context) map[string]any {
	s := &saltObj{ctx: ctx, c: c}
	names := make([]string, 0, len(localFuncs))
	for n := range localFuncs {
		names = append(names, n)
	}
	if fl, ok := c.Salt.(FunctionLister); ok {
		names = append(names, fl.Functions()...)
	}
	out := map[string]any{}
	for _, n := range names {
		mod, fun, ok := strings.Cut(n, ".")
		if !ok {
			continue
		}
		m, _ := out[mod].(map[string]any)
		if m == nil {
			m = map[string]any{}
			out[mod] = m
		}
		name := n
		m[fun] = func(args ...any) (any, error) {
			plain := make([]any, len(args))
			for i, a := range args {
				plain[i] = normalizeNumber(a)
			}
			if local, ok := localFuncs[name]; ok {
				return local(s.c, plain, map[string]any{})
			}
			if s.c.Salt == nil {
				return nil, fmt.Errorf("%w: salt[%q]", ErrNoCaller, name)
			}
			return s.c.Salt.Call(ctx, name, plain, map[string]any{})
		}
	}
	return out
}

func djangoError(name string, gl *gonjaLoader, err error) error {
	e := &Error{File: name, Stage: "django", Err: err}
	var pe *pongo2.Error
	if errors.As(err, &pe) {
		if pe.Filename != "" && pe.Filename != "<string>" {
			e.File = pe.Filename
		}
		e.Line = pe.Line
		e.Err = pe.OrigError
		if pe.Token != nil {
			e.Err = fmt.Errorf("%w (near %q)", pe.OrigError, pe.Token.Val)
		}
		if src, ok := gl.sources.Load(e.File); ok && e.Line > 0 {
			lines := strings.Split(src.(string), "\n")
			if e.Line <= len(lines) {
				e.Text = lines[e.Line-1]
			}
		}
	}
	return e
}
