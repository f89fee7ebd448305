package state

import (
	"context"
	"fmt"
	"strings"
)

// ApplySLS compiles the named SLS and runs them.
func (e *Engine) ApplySLS(ctx context.Context, mods ...string) (Results, error) {
	h, err := e.CompileSLS(ctx, "", mods...)
	if err != nil {
		return nil, err
	}
	return e.apply(ctx, h)
}

// ApplyHighstate compiles what the top file assigns and runs it.
func (e *Engine) ApplyHighstate(ctx context.Context) (Results, error) {
	h, err := e.CompileHighstate(ctx)
	if err != nil {
		return nil, err
	}
	return e.apply(ctx, h)
}

func (e *Engine) apply(ctx context.Context, h *High) (Results, error) {
	chunks, err := e.Lowstate(h)
	if err != nil {
		return nil, err
	}
	return e.Run(ctx, chunks), nil
}

// Single runs one state function without an SLS (state.single): fun is
// "file.managed", args are its arguments (name among them).
func (e *Engine) Single(ctx context.Context, fun string, args *Map) (Results, error) {
	mod, f, ok := strings.Cut(fun, ".")
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a state function (want module.function)", ErrCompile, fun)
	}
	if _, ok := e.reg.Lookup(fun); !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownFunction, fun)
	}
	nameV, ok := args.Get("name")
	if !ok {
		return nil, fmt.Errorf("%w: state.single %s needs a name", ErrBadArgs, fun)
	}
	name := scalarString(nameV)
	d := &ModDecl{Module: mod, Fun: f, autoOrder: 10000}
	for _, k := range args.Keys {
		d.Args = append(d.Args, KV{k, args.Values[k]})
	}
	h := newHigh()
	h.add(&IDDecl{ID: name, SLS: "", Env: e.env(""), Mods: []*ModDecl{d}})
	return e.apply(ctx, h)
}

// ErrorLines splits a (joined) compile error into one line per problem,
// the shape Salt returns for a state run that did not compile.
func ErrorLines(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	var walk func(error)
	walk = func(err error) {
		if m, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range m.Unwrap() {
				walk(e)
			}
			return
		}
		out = append(out, err.Error())
	}
	walk(err)
	return out
}
