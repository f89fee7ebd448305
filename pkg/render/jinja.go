package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// stateKey is the hidden context variable through which Brine's control
// structures (import, include, import_yaml) reach the render in progress.
const stateKey = "__brine_render"

// maxDepth bounds nested include/import so a template importing itself
// fails instead of recursing forever.
const maxDepth = 32

var (
	envOnce sync.Once
	// shared holds the filter, test and control-structure sets, built once
	// and only read afterwards.
	shared struct {
		filters *exec.FilterSet
		tests   *exec.TestSet
		cs      *exec.ControlStructureSet
		globals *exec.Context
	}
)

func gonjaShared() {
	envOnce.Do(func() {
		f := exec.NewFilterSet(map[string]exec.FilterFunction{})
		f.Update(builtins.Filters)
		for name, fn := range saltFilters() {
			if f.Exists(name) {
				_ = f.Replace(name, fn)
			} else {
				_ = f.Register(name, fn)
			}
		}
		t := exec.NewTestSet(map[string]exec.TestFunction{})
		t.Update(builtins.Tests)
		for name, fn := range saltTests() {
			if t.Exists(name) {
				_ = t.Replace(name, fn)
			} else if err := t.Register(name, fn); err != nil {
				panic(err)
			}
		}
		cs := exec.NewControlStructureSet(map[string]parser.ControlStructureParser{})
		cs.Update(builtins.ControlStructures)
		for name, p := range brineControlStructures() {
			if cs.Exists(name) {
				_ = cs.Replace(name, p)
			} else {
				_ = cs.Register(name, p)
			}
		}
		shared.filters, shared.tests, shared.cs = f, t, cs
		shared.globals = exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables)
		shared.globals.Set("raise", func(msg string) (any, error) { return nil, errors.New(msg) })
		shared.globals.Set("odict", func(va *exec.VarArgs) any { return toGoKw(va) })
		shared.globals.Set("show_full_context", func() string { return "" })
	})
}

// renderState is one Render call's shared state, reachable from nested
// templates through the stateKey context variable.
type renderState struct {
	ctx    context.Context
	c      Context
	loader *gonjaLoader
	// base is the context every template of this render sees even
	// without "with context": globals plus salt, grains, pillar, opts...
	base  *exec.Context
	depth int
}

func jinjaConfig() *config.Config {
	cfg := config.New()
	cfg.AutoEscape = false
	// Salt keeps a template's final newline; file.managed content depends on it.
	cfg.KeepTrailingNewline = true
	return cfg
}

func newEnv(c *exec.Context) *exec.Environment {
	return &exec.Environment{
		Filters:           shared.filters,
		Tests:             shared.tests,
		ControlStructures: shared.cs,
		Methods:           brineMethods,
		Context:           c,
	}
}

func renderJinja(ctx context.Context, name, src string, c Context, l Loader) (string, error) {
	gonjaShared()
	gl := &gonjaLoader{ctx: ctx, l: l, root: name, cur: name, sources: &sync.Map{}}
	gl.sources.Store(name, dropTrailingCommas(src))
	st := &renderState{ctx: ctx, c: c, loader: gl}
	base := shared.globals.Inherit()
	for k, v := range contextData(ctx, name, c) {
		base.Set(k, v)
	}
	base.Set(stateKey, st)
	st.base = base
	out, err := st.execute(name, base.Inherit(), gl)
	if err != nil {
		return "", err
	}
	return out, nil
}

// execute parses and renders the template named name with context vars.
func (st *renderState) execute(name string, vars *exec.Context, l loaders.Loader) (string, error) {
	var buf bytes.Buffer
	if err := st.executeTo(&buf, name, vars, l); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func (st *renderState) executeTo(w io.Writer, name string, vars *exec.Context, l loaders.Loader) (err error) {
	// gonja panics on some expressions (e.g. "%s" % x is evaluated as
	// integer modulo): a template must never take the daemon down.
	defer func() {
		if p := recover(); p != nil {
			err = &Error{File: name, Stage: "jinja", Err: fmt.Errorf("template engine failed: %v (unsupported expression?)", p)}
		}
	}()
	if err := st.ctx.Err(); err != nil {
		return fmt.Errorf("render: %s: %w", name, err)
	}
	env := newEnv(vars)
	tpl, err := exec.NewTemplate(name, jinjaConfig(), l, env)
	if err != nil {
		return st.locate(name, err)
	}
	r := exec.NewRenderer(env, w, jinjaConfig(), l, tpl)
	if err := r.Execute(); err != nil {
		return st.locate(name, err)
	}
	return nil
}

var lineRe = regexp.MustCompile(`(?i)\bline[: ]+(\d+)`)

// locate turns a gonja error into an *Error for template name. An error
// raised inside an included or imported template is already an *Error;
// it is kept (it points at the real culprit) and the outer location is
// added to its trail.
func (st *renderState) locate(name string, err error) error {
	var inner *Error
	if errors.As(err, &inner) {
		return inner
	}
	msg := err.Error()
	line := 0
	var syn *parser.SyntaxError
	if errors.As(err, &syn) {
		line = syn.Line
		msg = "syntax error: " + syn.Message
		if syn.Line == 0 {
			// A lexer error token carries only a byte offset: lex again to
			// find its line and say what the lexer said.
			if src, ok := st.loader.sources.Load(name); ok {
				line, msg = lexError(src.(string), syn.Message)
			}
		} else if syn.Raw != "" {
			msg += fmt.Sprintf(" (near %q)", syn.Raw)
		}
	} else if m := lineRe.FindAllStringSubmatch(msg, -1); len(m) > 0 {
		line, _ = strconv.Atoi(m[len(m)-1][1])
	}
	msg = cleanMessage(msg)
	e := &Error{File: name, Line: line, Stage: "jinja", Err: errors.New(msg)}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		e.Err = fmt.Errorf("%s: %w", msg, st.ctx.Err())
	}
	if src, ok := st.loader.sources.Load(name); ok && line > 0 {
		lines := strings.Split(src.(string), "\n")
		if line <= len(lines) {
			e.Text = strings.TrimRight(lines[line-1], "\r")
		}
	}
	return e
}

// contextData builds the variables Salt gives a template.
func contextData(ctx context.Context, name string, c Context) map[string]any {
	grains := c.Grains
	if grains == nil {
		grains = map[string]any{}
	}
	pillar := c.Pillar
	if pillar == nil {
		pillar = map[string]any{}
	}
	opts := c.Opts
	if opts == nil {
		opts = map[string]any{}
	}
	saltenv := c.Saltenv
	if saltenv == "" {
		saltenv = "base"
	}
	s := &saltObj{ctx: ctx, c: &c}
	data := map[string]any{
		"salt":    s,
		"grains":  grainsDict(grains),
		"pillar":  pillarDict(pillar),
		"opts":    opts,
		"saltenv": saltenv,
		"env":     saltenv,
	}
	for k, v := range templateVars(name, c.SLS) {
		data[k] = v
	}
	for k, v := range c.Extra {
		data[k] = v
	}
	return data
}

// gonjaLoader adapts a Loader to gonja, resolving "./" and "../" names
// against the template that refers to them.
type gonjaLoader struct {
	ctx  context.Context
	l    Loader
	root string
	cur  string
	// sources remembers every template read, for error context lines.
	sources *sync.Map
}

func (g *gonjaLoader) Resolve(name string) (string, error) {
	name = strings.TrimPrefix(name, "salt://")
	if strings.HasPrefix(name, "./") || strings.HasPrefix(name, "../") {
		name = path.Join(path.Dir(g.cur), name)
	}
	name = path.Clean(strings.TrimPrefix(name, "/"))
	if name == ".." || strings.HasPrefix(name, "../") {
		return "", fmt.Errorf("render: template path %q escapes the file root", name)
	}
	return name, nil
}

func (g *gonjaLoader) Read(name string) (io.Reader, error) {
	if name == g.root {
		if src, ok := g.sources.Load(name); ok {
			return strings.NewReader(src.(string)), nil
		}
	}
	resolved, err := g.Resolve(name)
	if err != nil {
		return nil, err
	}
	if src, ok := g.sources.Load(resolved); ok {
		return strings.NewReader(src.(string)), nil
	}
	if g.l == nil {
		return nil, fmt.Errorf("%w: %s (no loader)", ErrNotFound, resolved)
	}
	b, err := g.l.Load(g.ctx, resolved)
	if err != nil {
		return nil, err
	}
	text := dropTrailingCommas(string(b))
	g.sources.Store(resolved, text)
	return strings.NewReader(text), nil
}

func (g *gonjaLoader) Inherit(from string) (loaders.Loader, error) {
	resolved, err := g.Resolve(from)
	if err != nil {
		return nil, err
	}
	cp := *g
	cp.cur = resolved
	return &cp, nil
}

var funcNameRe = regexp.MustCompile(`invalid call to function '[^']*\.func\d+': `)

// cleanMessage drops gonja's noise: its generic prefix and the Go names of
// Brine's closures.
func cleanMessage(msg string) string {
	msg = strings.TrimPrefix(msg, "unable to execute template: ")
	return funcNameRe.ReplaceAllString(msg, "")
}

// lexError finds the first lexer error in src and returns its line and text.
func lexError(src, fallback string) (int, string) {
	stream := tokens.LexAll(src, jinjaConfig())
	for {
		tok := stream.Current()
		if tok == nil || tok.Type == tokens.EOF {
			break
		}
		if tok.Type == tokens.Error {
			return strings.Count(src[:min(tok.Pos, len(src))], "\n") + 1, "syntax error: " + tok.Val
		}
		stream.Next()
	}
	return 0, "syntax error: " + fallback
}
