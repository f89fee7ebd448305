package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// gonja's own import and from-import bring in macros only and its include
// loses the included file's name in errors. Salt's map.jinja pattern needs
// variables ({% from "x/map.jinja" import x with context %}), so these
// control structures replace gonja's, and add Salt's import_yaml,
// import_json, import_text and load_yaml/load_json/load_text blocks.
func brineControlStructures() map[string]parser.ControlStructureParser {
	return map[string]parser.ControlStructureParser{
		"import":      importParser,
		"from":        fromParser,
		"include":     includeParser,
		"do":          doParser,
		"import_yaml": dataImportParser("yaml"),
		"import_json": dataImportParser("json"),
		"import_text": dataImportParser("text"),
		"load_yaml":   loadBlockParser("yaml"),
		"load_json":   loadBlockParser("json"),
		"load_text":   loadBlockParser("text"),
	}
}

func stateOf(r *exec.Renderer) (*renderState, error) {
	v, ok := r.Environment.Context.Get(stateKey)
	st, _ := v.(*renderState)
	if !ok || st == nil {
		return nil, errors.New("render: template executed outside render.Render")
	}
	return st, nil
}

// runNested renders template expr (relative to r's template) into w with
// either r's context or only the render's base context, and returns the
// context it ran in so its top-level names can be read.
func runNested(r *exec.Renderer, expr nodes.Expression, withContext bool, w io.Writer) (*exec.Context, string, error) {
	st, err := stateOf(r)
	if err != nil {
		return nil, "", err
	}
	nameVal := r.Eval(expr)
	if nameVal.IsError() {
		return nil, "", fmt.Errorf("evaluating template name: %w", nameVal.Interface().(error))
	}
	resolved, err := r.Loader.Resolve(nameVal.String())
	if err != nil {
		return nil, "", err
	}
	if st.depth >= maxDepth {
		return nil, resolved, fmt.Errorf("render: %s: templates nested more than %d deep (import cycle?)", resolved, maxDepth)
	}
	// Read it once here so a missing template keeps ErrNotFound in the
	// chain (gonja's own reader error drops it).
	if _, err := st.loader.Read(resolved); err != nil {
		return nil, resolved, err
	}
	loader, err := r.Loader.Inherit(resolved)
	if err != nil {
		return nil, resolved, err
	}
	parent := st.base
	if withContext {
		parent = r.Environment.Context
	}
	vars := parent.Inherit()
	st.depth++
	defer func() { st.depth-- }()
	if err := st.executeTo(w, resolved, vars, loader); err != nil {
		return nil, resolved, err
	}
	return vars, resolved, nil
}

// module is an imported template's namespace: its top-level variables and
// macros, looked up lazily.
type module struct {
	name string
	vars *exec.Context
}

func (m *module) GetAttribute(name string) (*exec.Value, bool) {
	v, ok := m.vars.Get(name)
	if !ok {
		return exec.AsValue(nil), false
	}
	return exec.ToValue(v), true
}

func (m *module) GetItem(key any) (*exec.Value, bool) {
	s, ok := key.(string)
	if !ok {
		return exec.AsValue(nil), false
	}
	return m.GetAttribute(s)
}

func (m *module) String() string { return "<template module " + m.name + ">" }

type importCS struct {
	loc         *tokens.Token
	expr        nodes.Expression
	as          string
	withContext bool
}

func (c *importCS) Position() *tokens.Token { return c.loc }
func (c *importCS) String() string          { return fmt.Sprintf("import(line %d)", c.loc.Line) }

func (c *importCS) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	vars, name, err := runNested(r, c.expr, c.withContext, io.Discard)
	if err != nil {
		return err
	}
	r.Environment.Context.Set(c.as, &module{name: name, vars: vars})
	return nil
}

func parseWithContext(args *parser.Parser) bool {
	if tok := args.MatchName("with", "without"); tok != nil {
		if args.MatchName("context") != nil {
			return tok.Val == "with"
		}
		args.Stream().Backup()
	}
	return false
}

func importParser(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
	cs := &importCS{loc: p.Current()}
	expr, err := args.ParseExpression()
	if err != nil {
		return nil, err
	}
	cs.expr = expr
	if args.MatchName("as") == nil {
		return nil, args.Error(`expected "as" after the import name`, args.Current())
	}
	alias := args.Match(tokens.Name)
	if alias == nil {
		return nil, args.Error("expected a name after \"as\"", args.Current())
	}
	cs.as = alias.Val
	cs.withContext = parseWithContext(args)
	if !args.End() {
		return nil, args.Error("malformed import tag", args.Current())
	}
	return cs, nil
}

type fromCS struct {
	loc         *tokens.Token
	expr        nodes.Expression
	names       [][2]string // alias, name
	withContext bool
}

func (c *fromCS) Position() *tokens.Token { return c.loc }
func (c *fromCS) String() string          { return fmt.Sprintf("from-import(line %d)", c.loc.Line) }

func (c *fromCS) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	vars, file, err := runNested(r, c.expr, c.withContext, io.Discard)
	if err != nil {
		return err
	}
	for _, an := range c.names {
		v, ok := vars.Get(an[1])
		if !ok {
			return fmt.Errorf("template %q does not define %q", file, an[1])
		}
		r.Environment.Context.Set(an[0], v)
	}
	return nil
}

func fromParser(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
	cs := &fromCS{loc: p.Current()}
	expr, err := args.ParseExpression()
	if err != nil {
		return nil, err
	}
	cs.expr = expr
	if args.MatchName("import") == nil {
		return nil, args.Error(`expected "import"`, args.Current())
	}
	for !args.End() {
		if tok := args.MatchName("with", "without"); tok != nil {
			if args.MatchName("context") == nil {
				return nil, args.Error(`expected "context"`, args.Current())
			}
			cs.withContext = tok.Val == "with"
			break
		}
		name := args.Match(tokens.Name)
		if name == nil {
			return nil, args.Error("expected a name to import", args.Current())
		}
		alias := name.Val
		if args.MatchName("as") != nil {
			a := args.Match(tokens.Name)
			if a == nil {
				return nil, args.Error("expected a name after \"as\"", args.Current())
			}
			alias = a.Val
		}
		cs.names = append(cs.names, [2]string{alias, name.Val})
		if args.Match(tokens.Comma) == nil && !args.End() && args.CurrentName("with", "without") == nil {
			return nil, args.Error("expected ','", args.Current())
		}
	}
	if len(cs.names) == 0 {
		return nil, args.Error("nothing to import", args.Current())
	}
	if !args.End() {
		return nil, args.Error("malformed from-import tag", args.Current())
	}
	return cs, nil
}

type includeCS struct {
	loc           *tokens.Token
	expr          nodes.Expression
	ignoreMissing bool
	withContext   bool
}

func (c *includeCS) Position() *tokens.Token { return c.loc }
func (c *includeCS) String() string          { return fmt.Sprintf("include(line %d)", c.loc.Line) }

func (c *includeCS) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	// Render into a buffer so a missing template ignored leaves no partial output.
	var buf bytes.Buffer
	_, _, err := runNested(r, c.expr, c.withContext, &buf)
	if err != nil {
		if c.ignoreMissing && errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	_, err = r.Output.Write(buf.Bytes())
	return err
}

func includeParser(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
	cs := &includeCS{loc: p.Current(), withContext: true}
	expr, err := args.ParseExpression()
	if err != nil {
		return nil, err
	}
	cs.expr = expr
	if args.MatchName("ignore") != nil {
		if args.MatchName("missing") == nil {
			return nil, args.Error(`expected "missing"`, args.Current())
		}
		cs.ignoreMissing = true
	}
	if tok := args.MatchName("with", "without"); tok != nil {
		if args.MatchName("context") == nil {
			return nil, args.Error(`expected "context"`, args.Current())
		}
		cs.withContext = tok.Val == "with"
	}
	if !args.End() {
		return nil, args.Error("malformed include tag", args.Current())
	}
	return cs, nil
}

// dataImportCS is {% import_yaml "x.yaml" as x %}: the file is rendered as
// a template (as Salt does) and then parsed.
type dataImportCS struct {
	importCS
	format string
}

func (c *dataImportCS) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	var buf bytes.Buffer
	_, name, err := runNested(r, c.expr, c.withContext, &buf)
	if err != nil {
		return err
	}
	v, err := parseAs(c.format, name, buf.String())
	if err != nil {
		return err
	}
	r.Environment.Context.Set(c.as, v)
	return nil
}

func parseAs(format, name, text string) (any, error) {
	if format == "text" {
		return text, nil
	}
	v, err := parseData(name, format, text)
	if err != nil {
		return nil, err
	}
	return Plain(v), nil
}

func dataImportParser(format string) parser.ControlStructureParser {
	return func(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
		cs, err := importParser(p, args)
		if err != nil {
			return nil, err
		}
		return &dataImportCS{importCS: *cs.(*importCS), format: format}, nil
	}
}

// loadBlockCS is {% load_yaml as x %}...{% endload %}.
type loadBlockCS struct {
	loc    *tokens.Token
	as     string
	format string
	body   *nodes.Wrapper
}

func (c *loadBlockCS) Position() *tokens.Token { return c.loc }
func (c *loadBlockCS) String() string          { return fmt.Sprintf("load_%s(line %d)", c.format, c.loc.Line) }

func (c *loadBlockCS) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	var buf bytes.Buffer
	sub := r.Inherit()
	sub.Output = &buf
	if err := sub.ExecuteWrapper(c.body); err != nil {
		return err
	}
	v, err := parseAs(c.format, fmt.Sprintf("load_%s block at line %d", c.format, c.loc.Line), buf.String())
	if err != nil {
		return err
	}
	r.Environment.Context.Set(c.as, v)
	return nil
}

func loadBlockParser(format string) parser.ControlStructureParser {
	return func(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
		cs := &loadBlockCS{loc: p.Current(), format: format}
		if args.MatchName("as") == nil {
			return nil, args.Error(`expected "as"`, args.Current())
		}
		alias := args.Match(tokens.Name)
		if alias == nil {
			return nil, args.Error("expected a name after \"as\"", args.Current())
		}
		cs.as = alias.Val
		body, end, err := p.WrapUntil("endload")
		if err != nil {
			return nil, err
		}
		if !end.End() {
			return nil, end.Error("endload takes no arguments", end.Current())
		}
		cs.body = body
		return cs, nil
	}
}

var _ loaders.Loader = (*gonjaLoader)(nil)
