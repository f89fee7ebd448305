// Package render turns Salt-style SLS and template sources into data or
// text. A source's first line may name its renderer pipeline with a shebang
// ("#!jinja|yaml", the default, "#!yaml", "#!json", "#!jinja|json",
// "#!django|yaml"); the template stage sees Salt's context (salt, grains,
// pillar, opts, saltenv, sls, slspath, tpldir, tplfile) and Salt's extra
// filters and tests. Data comes back with mappings as ordered *Map values so
// callers keep definition order. Errors are *Error values naming the file,
// the line and the offending source line.
//
// Jinja is github.com/nikolalohinski/gonja/v2 and Django templates are
// github.com/flosch/pongo2/v6, both with autoescape off. docs/templates.md
// lists what is supported and where it differs from Salt.
package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
)

// Caller runs execution functions for salt['mod.fun'](...) in templates.
type Caller interface {
	Call(ctx context.Context, fun string, args []any, kwargs map[string]any) (any, error)
}

// Loader reads another template by name (for include, import, extends,
// import_yaml): names like "nginx/map.jinja" relative to the environment's
// root; "./x" and "../x" are resolved against the including template first.
type Loader interface {
	Load(ctx context.Context, path string) ([]byte, error)
}

// Context is what a template sees.
type Context struct {
	// Salt runs salt['...'] calls that are not answered locally; nil means
	// only the local ones (pillar.get, grains.get, grains.filter_by, ...) work.
	Salt    Caller
	Grains  map[string]any
	Pillar  map[string]any
	Opts    map[string]any
	Saltenv string
	// SLS is the dotted SLS name ("nginx.server"); slspath and tpldir are
	// derived from the template name when empty.
	SLS   string
	Extra map[string]any
}

// ErrNotFound is what a Loader should wrap when a template does not exist.
var ErrNotFound = errors.New("render: template not found")

// Error is a render failure located in a template source.
type Error struct {
	File  string // template name
	Line  int    // 1-based; 0 when unknown
	Stage string // "jinja", "django", "yaml", "json" or "pipeline"
	Text  string // the source line (or rendered line, for yaml/json) at Line
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("render: ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	fmt.Fprintf(&b, ": %s: %v", e.Stage, e.Err)
	if e.Text != "" {
		fmt.Fprintf(&b, "\n    %d | %s", e.Line, e.Text)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Pipeline parses the shebang on src's first line. It returns the renderer
// names in order and the source without the shebang line (replaced by an
// empty line so that line numbers stay true). Without a shebang the
// pipeline is jinja|yaml.
func Pipeline(src []byte) ([]string, []byte) {
	s := string(src)
	if !strings.HasPrefix(s, "#!") {
		return []string{"jinja", "yaml"}, src
	}
	line, rest, _ := strings.Cut(s, "\n")
	spec := strings.TrimSpace(strings.TrimPrefix(line, "#!"))
	var names []string
	for _, p := range strings.Split(spec, "|") {
		// "#!jinja|yaml strict" style options after a space are ignored.
		p, _, _ = strings.Cut(strings.TrimSpace(p), " ")
		if p != "" {
			names = append(names, strings.ToLower(p))
		}
	}
	return names, []byte("\n" + rest)
}

// Render runs src (named name, e.g. "nginx/init.sls") through its pipeline
// and returns the parsed data: *Map, []any or a scalar; nil for an empty
// document.
func Render(ctx context.Context, name string, src []byte, c Context, l Loader) (any, error) {
	pipe, body := Pipeline(src)
	if len(pipe) == 0 {
		return nil, &Error{File: name, Stage: "pipeline", Err: errors.New("empty renderer shebang")}
	}
	text := string(body)
	for i, stage := range pipe {
		last := i == len(pipe)-1
		switch stage {
		case "jinja", "django":
			if last {
				return nil, &Error{File: name, Stage: "pipeline", Err: fmt.Errorf("renderer %q must be followed by a data renderer (yaml or json)", stage)}
			}
			out, err := RenderText(ctx, name, []byte(text), c, l, stage)
			if err != nil {
				return nil, err
			}
			text = out
		case "yaml", "json":
			if !last {
				return nil, &Error{File: name, Stage: "pipeline", Err: fmt.Errorf("renderer %q must be last", stage)}
			}
			return parseData(name, stage, text)
		default:
			return nil, &Error{File: name, Stage: "pipeline", Err: fmt.Errorf("unknown renderer %q (supported: jinja, django, yaml, json)", stage)}
		}
	}
	return nil, &Error{File: name, Stage: "pipeline", Err: errors.New("pipeline has no data renderer")}
}

// RenderText renders a template to text with the given engine ("jinja" or
// "django"), as file.managed's template argument does. A shebang line is not
// interpreted here.
func RenderText(ctx context.Context, name string, src []byte, c Context, l Loader, engine string) (string, error) {
	switch strings.ToLower(engine) {
	case "jinja", "jinja2", "":
		return renderJinja(ctx, name, string(src), c, l)
	case "django", "pongo2":
		return renderDjango(ctx, name, string(src), c, l)
	}
	return "", &Error{File: name, Stage: "pipeline", Err: fmt.Errorf("unknown template engine %q", engine)}
}

func parseData(name, stage, text string) (any, error) {
	var (
		v   any
		err error
	)
	if stage == "yaml" {
		v, err = decodeYAML([]byte(text))
	} else {
		v, err = decodeJSON([]byte(text))
		var probe any
		if perr := json.Unmarshal([]byte(text), &probe); err != nil && perr != nil {
			// The validating scanner gives the exact offset of the problem.
			err = perr
		}
	}
	if err == nil {
		return v, nil
	}
	line := dataErrorLine(stage, text, err)
	e := &Error{File: name, Line: line, Stage: stage, Err: err}
	if line > 0 {
		lines := strings.Split(text, "\n")
		if line <= len(lines) {
			e.Text = lines[line-1]
		}
	}
	return nil, e
}

func dataErrorLine(stage, text string, err error) int {
	msg := err.Error()
	if stage == "yaml" {
		// yaml.v3 reports parser errors with a 0-based line and scanner
		// errors with a 1-based one; no line at all means the first line.
		n := 0
		if i := strings.Index(msg, "line "); i >= 0 {
			fmt.Sscanf(msg[i+5:], "%d", &n)
		} else {
			return 1
		}
		scanner := false
		for _, p := range yamlScannerProblems {
			if strings.HasSuffix(msg, p) {
				scanner = true
				break
			}
		}
		if !scanner {
			n++
		}
		return min(n, strings.Count(text, "\n")+1)
	}
	var off int64 = -1
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		off = syn.Offset
	} else if i := strings.LastIndex(msg, "offset "); i >= 0 {
		fmt.Sscanf(msg[i+7:], "%d", &off)
	}
	if off < 0 {
		return 0
	}
	if off > int64(len(text)) {
		off = int64(len(text))
	}
	return strings.Count(text[:off], "\n") + 1
}

// templateVars returns the sls, slspath, tpldir and tplfile values Salt
// sets for a template named name.
func templateVars(name, sls string) map[string]any {
	tpldir := path.Dir(name)
	if tpldir == "." {
		tpldir = ""
	}
	if sls == "" && strings.HasSuffix(name, ".sls") {
		sls = strings.TrimSuffix(name, ".sls")
		sls = strings.TrimSuffix(sls, "/init")
		sls = strings.ReplaceAll(sls, "/", ".")
	}
	slspath := tpldir
	return map[string]any{
		"sls":          sls,
		"slspath":      slspath,
		"tpldir":       tpldir,
		"tplfile":      name,
		"tplpath":      name,
		"slsdotpath":   strings.ReplaceAll(slspath, "/", "."),
		"slscolonpath": strings.ReplaceAll(slspath, "/", ":"),
		"sls_path":     strings.ReplaceAll(slspath, "/", "_"),
	}
}

// yamlScannerProblems are yaml.v3's scanner error texts (scannerc.go).
var yamlScannerProblems = []string{
	"block sequence entries are not allowed in this context", "could not find expected ':'",
	"could not find expected directive name", "did not find expected alphabetic or numeric character",
	"did not find expected comment or line break", "did not find expected digit or '.' character",
	"did not find expected hexdecimal number", "did not find expected version number",
	"did not find expected whitespace or line break", "did not find expected whitespace",
	"did not find the expected '>'", "found a tab character that violates indentation",
	"found a tab character where an indentation space is expected", "found an indentation indicator equal to 0",
	"found character that cannot start any token", "found extremely long version number",
	"found invalid Unicode character escape code", "found unexpected document indicator",
	"found unexpected end of stream", "found unexpected non-alphabetical character",
	"found unknown directive name", "found unknown escape character",
	"mapping keys are not allowed in this context", "mapping values are not allowed in this context",
}
