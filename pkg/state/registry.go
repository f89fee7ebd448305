package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ErrUnknownFunction is returned for a state function nobody registered.
var ErrUnknownFunction = errors.New("state: unknown state function")

// ErrBadArgs wraps argument validation failures.
var ErrBadArgs = errors.New("state: bad arguments")

// Kind is the type a declared argument is converted to.
type Kind int

// Argument kinds; conversions follow Salt ("5" is an Int, "yes" a Bool, a
// scalar given for a List becomes a one-element list).
const (
	Any Kind = iota
	String
	Int
	Float
	Bool
	List
	Dict
)

func (k Kind) String() string {
	return [...]string{"any", "string", "int", "float", "bool", "list", "map"}[k]
}

// Arg declares one argument of a state function.
type Arg struct {
	Name     string
	Kind     Kind
	Required bool
	Default  any
	Doc      string
}

// Func is one state function ("file.managed"). Run must honour c.Test:
// report result None with the changes it would make, and change nothing.
type Func struct {
	Name string
	Doc  string
	Args []Arg
	// VarKwargs accepts undeclared arguments (test.configurable_test_state
	// does not need it; cmd.run does not either). Unknown arguments are an
	// error otherwise, so that a typo fails before anything runs.
	VarKwargs bool
	Run       func(ctx context.Context, c *Call) Ret
	// ModWatch, when set, is what a watch or listen requisite fires after
	// the watched state changed (service restart, cmd re-run).
	ModWatch func(ctx context.Context, c *Call) Ret
}

// Tri is a state result: True, False, or None (test=True: would change).
type Tri int8

// Result values. The zero value is False, so a forgotten result fails.
const (
	False Tri = iota
	True
	None
)

// MarshalJSON writes true, false or null.
func (t Tri) MarshalJSON() ([]byte, error) {
	switch t {
	case True:
		return []byte("true"), nil
	case None:
		return []byte("null"), nil
	}
	return []byte("false"), nil
}

// UnmarshalJSON reads true, false or null.
func (t *Tri) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true":
		*t = True
	case "null":
		*t = None
	default:
		*t = False
	}
	return nil
}

func (t Tri) String() string { return [...]string{"False", "True", "None"}[t] }

// Ret is what a state function returns.
type Ret struct {
	Result  Tri
	Changes map[string]any
	Comment string
	// Name replaces the chunk's name in the result when set.
	Name string
	// SkipWatch stops a watch requisite from firing mod_watch (unless,
	// onlyif, creates skipped the state).
	SkipWatch bool
}

// Call is one invocation of a state function.
type Call struct {
	Name    string // the name argument
	ID      string
	SLS     string
	Saltenv string
	Test    bool
	Args    *Args
	// SFun is the function a mod_watch fires for ("running").
	SFun string
	// Requires are the states this one requires (file.directory's clean
	// keeps the files they manage).
	Requires []StateRef
	Log      *slog.Logger
	e        *Engine
}

// StateRef names a state in the run.
type StateRef struct {
	Module, ID, Name string
}

// Deps returns the run's collaborators (renderer, file client, ...).
func (c *Call) Deps() Deps { return c.e.deps }

// Options returns the run's options (grains, pillar, minion id, ...).
func (c *Call) Options() Options { return c.e.opts }

// Registry maps dotted names to state functions.
type Registry struct {
	mu    sync.RWMutex // guards funcs
	funcs map[string]*Func
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{funcs: map[string]*Func{}} }

// Default holds every state function this package provides.
var Default = NewRegistry()

// Register adds f; a duplicate or malformed name panics (a programming
// error found at start).
func (r *Registry) Register(f *Func) {
	if !strings.Contains(f.Name, ".") || f.Run == nil {
		panic("state: bad registration " + f.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.funcs[f.Name]; dup {
		panic("state: duplicate function " + f.Name)
	}
	r.funcs[f.Name] = f
}

// Lookup returns the function registered under name.
func (r *Registry) Lookup(name string) (*Func, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.funcs[name]
	return f, ok
}

// Names lists the registered functions, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.funcs))
	for n := range r.funcs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Args holds validated arguments.
type Args struct {
	vals map[string]any
	set  map[string]bool
	// Extra holds undeclared arguments of VarKwargs functions.
	Extra map[string]any
}

// Has reports whether the state gave the argument.
func (a *Args) Has(name string) bool { return a.set[name] }

// Get returns the argument or its default.
func (a *Args) Get(name string) any { return a.vals[name] }

// String returns a String argument ("" when absent).
func (a *Args) String(name string) string { s, _ := a.vals[name].(string); return s }

// Int returns an Int argument.
func (a *Args) Int(name string) int64 { n, _ := a.vals[name].(int64); return n }

// Bool returns a Bool argument.
func (a *Args) Bool(name string) bool { b, _ := a.vals[name].(bool); return b }

// List returns a List argument.
func (a *Args) List(name string) []any { l, _ := a.vals[name].([]any); return l }

// Map returns a Map argument.
func (a *Args) Map(name string) map[string]any { m, _ := a.vals[name].(map[string]any); return m }

// Strings returns a List argument as strings.
func (a *Args) Strings(name string) []string {
	var out []string
	for _, v := range a.List(name) {
		out = append(out, scalarString(v))
	}
	return out
}

// globalArgs are accepted by every state and handled by the engine.
var globalArgs = map[string]bool{
	"unless": true, "onlyif": true, "creates": true, "reload_modules": true,
	"reload_pillar": true, "reload_grains": true, "fire_event": true, "saltenv": true,
	"__env__": true, "__sls__": true, "__id__": true, "check_cmd": true, "retry": true,
}

// bind validates args against f's declaration.
func bind(f *Func, name string, args []KV) (*Args, error) {
	a := &Args{vals: map[string]any{}, set: map[string]bool{}, Extra: map[string]any{}}
	var unknown []string
	for _, kv := range args {
		if globalArgs[kv.Key] {
			continue
		}
		d, ok := findArg(f, kv.Key)
		if !ok {
			if f.VarKwargs {
				a.Extra[kv.Key] = Plain(kv.Val)
				continue
			}
			unknown = append(unknown, kv.Key)
			continue
		}
		v, err := convertArg(Plain(kv.Val), d.Kind)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: argument %q: %v", ErrBadArgs, f.Name, kv.Key, err)
		}
		a.vals[kv.Key] = v
		a.set[kv.Key] = true
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w: %s does not take argument(s) %s", ErrBadArgs, f.Name, strings.Join(unknown, ", "))
	}
	for _, d := range f.Args {
		if a.set[d.Name] {
			continue
		}
		if d.Required {
			return nil, fmt.Errorf("%w: %s: missing required argument %q", ErrBadArgs, f.Name, d.Name)
		}
		a.vals[d.Name] = d.Default
	}
	a.vals["name"], a.set["name"] = name, true
	return a, nil
}

func findArg(f *Func, name string) (Arg, bool) {
	for _, a := range f.Args {
		if a.Name == name {
			return a, true
		}
	}
	return Arg{}, false
}

func convertArg(v any, k Kind) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case Any:
		return v, nil
	case String:
		switch x := v.(type) {
		case string:
			return x, nil
		case int64, int, bool, json.Number:
			return fmt.Sprint(x), nil
		case float64:
			return scalarString(x), nil
		}
	case Int:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		case float64:
			if x == math.Trunc(x) {
				return int64(x), nil
			}
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return n, nil
			}
		}
	case Float:
		switch x := v.(type) {
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return f, nil
			}
		}
	case Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "yes", "on", "1":
				return true, nil
			case "false", "no", "off", "0", "":
				return false, nil
			}
		case int64:
			return x != 0, nil
		}
	case List:
		switch x := v.(type) {
		case []any:
			return x, nil
		case string, int64, float64, bool, map[string]any:
			return []any{x}, nil
		}
	case Dict:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
		if l, ok := v.([]any); ok {
			// Salt lets mappings be written as a list of one-key mappings.
			m := map[string]any{}
			for _, e := range l {
				em, ok := e.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("want %s, got a list of %T", k, e)
				}
				for kk, vv := range em {
					m[kk] = vv
				}
			}
			return m, nil
		}
	}
	return nil, fmt.Errorf("want %s, got %T (%v)", k, v, v)
}
