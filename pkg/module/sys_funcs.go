package module

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/brine-project/brine/pkg/target"
)

// The sys.* functions describe the registry the call went through.
func init() {
	Default.Register(&Func{
		Name:    "sys.list_functions",
		Doc:     "List the functions available, all of them or those of the named modules (\"cmd\") or matching globs (\"test.*\").",
		Varargs: true,
		Run: func(_ context.Context, env *Env, a *Args) (any, error) {
			return selectFuncs(env.Registry, a.Extra)
		},
	})
	Default.Register(&Func{
		Name:    "sys.list_modules",
		Doc:     "List the modules (the part before the dot) available, optionally filtered by globs.",
		Varargs: true,
		Run: func(_ context.Context, env *Env, a *Args) (any, error) {
			seen := map[string]bool{}
			out := []string{}
			for _, n := range env.Registry.Names("") {
				mod, _, _ := strings.Cut(n, ".")
				if seen[mod] {
					continue
				}
				seen[mod] = true
				keep := len(a.Extra) == 0
				for _, p := range a.Extra {
					if s, ok := p.(string); ok && target.Fnmatch(s, mod) {
						keep = true
					}
				}
				if keep {
					out = append(out, mod)
				}
			}
			return out, nil
		},
	})
	Default.Register(&Func{
		Name:    "sys.doc",
		Doc:     "Return the documentation of functions, as {name: doc}; arguments select modules, functions or globs.",
		Varargs: true,
		Run: func(_ context.Context, env *Env, a *Args) (any, error) {
			names, err := selectFuncs(env.Registry, a.Extra)
			if err != nil {
				return nil, err
			}
			out := map[string]any{}
			for _, n := range names {
				if f, ok := env.Registry.Lookup(n); ok {
					out[n] = FuncDoc(f)
				}
			}
			return out, nil
		},
	})
	Default.Register(&Func{
		Name:    "sys.argspec",
		Doc:     "Return the argument specification of functions as Salt does: {name: {args, defaults, varargs, kwargs}}.",
		Varargs: true,
		Run: func(_ context.Context, env *Env, a *Args) (any, error) {
			names, err := selectFuncs(env.Registry, a.Extra)
			if err != nil {
				return nil, err
			}
			out := map[string]any{}
			for _, n := range names {
				if f, ok := env.Registry.Lookup(n); ok {
					out[n] = argspec(f)
				}
			}
			return out, nil
		},
	})
}

// selectFuncs resolves sys.* arguments: none means every function; a name
// with a glob character is matched as a glob; "mod" or "mod." selects a
// module; "mod.fun" selects that function.
func selectFuncs(r *Registry, sel []any) ([]string, error) {
	all := r.Names("")
	if len(sel) == 0 {
		return all, nil
	}
	set := map[string]bool{}
	for i, s := range sel {
		p, ok := s.(string)
		if !ok {
			return nil, badArg("sys", "args", "selector %d is %T, want string", i+1, s)
		}
		for _, n := range all {
			switch {
			case strings.ContainsAny(p, "*?["):
				if target.Fnmatch(p, n) {
					set[n] = true
				}
			case n == p || strings.HasPrefix(n, strings.TrimSuffix(p, ".")+"."):
				set[n] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// FuncDoc renders a function's documentation with its arguments, for
// sys.doc and the CLI.
func FuncDoc(f *Func) string {
	var b strings.Builder
	b.WriteString(f.Doc)
	if len(f.Args) == 0 && !f.Varargs && !f.VarKwargs {
		return b.String()
	}
	b.WriteString("\n\nArguments:")
	for _, a := range f.Args {
		fmt.Fprintf(&b, "\n  %s (%s", a.Name, a.Kind)
		switch {
		case a.Required:
			b.WriteString(", required")
		case a.Default != nil:
			fmt.Fprintf(&b, ", default %v", a.Default)
		}
		if a.KwOnly {
			b.WriteString(", keyword only")
		}
		b.WriteString(")")
		if a.Doc != "" {
			b.WriteString(": " + a.Doc)
		}
	}
	if f.Varargs {
		b.WriteString("\n  *args: further positional arguments")
	}
	if f.VarKwargs {
		b.WriteString("\n  **kwargs: further keyword arguments")
	}
	return b.String()
}

// argspec is Salt's sys.argspec shape: defaults line up with the trailing
// optional arguments; varargs/kwargs name the catch-alls or are null.
func argspec(f *Func) map[string]any {
	args := []string{}
	for _, a := range f.Args {
		args = append(args, a.Name)
	}
	firstOpt := len(f.Args)
	for i := len(f.Args) - 1; i >= 0 && !f.Args[i].Required; i-- {
		firstOpt = i
	}
	var defaults any
	if firstOpt < len(f.Args) {
		d := []any{}
		for _, a := range f.Args[firstOpt:] {
			d = append(d, a.Default)
		}
		defaults = d
	}
	spec := map[string]any{"args": args, "defaults": defaults, "varargs": nil, "kwargs": nil}
	if f.Varargs {
		spec["varargs"] = "args"
	}
	if f.VarKwargs {
		spec["kwargs"] = "kwargs"
	}
	return spec
}
