// Package module is the registry of execution functions (test.ping, cmd.run,
// file.read, ...) that minions run. Functions register by dotted name into a
// Registry, usually Default from an init func, each declaring its arguments so
// a bad call fails before anything runs, with a message naming the argument.
package module

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
)

// ErrUnknownFunction is returned by Call for a name nobody registered.
var ErrUnknownFunction = errors.New("module: unknown function")

// ErrBadArgs wraps every argument validation failure.
var ErrBadArgs = errors.New("module: bad arguments")

// Kind is the type an argument must have once decoded from JSON/YAML.
type Kind int

// Argument kinds. Any accepts every value; the others convert where Salt
// would (a number given as string "5" for an Int, "true" for a Bool).
const (
	Any Kind = iota
	String
	Int
	Float
	Bool
	List
	Map
)

func (k Kind) String() string {
	return [...]string{"any", "string", "int", "float", "bool", "list", "map"}[k]
}

// Arg declares one argument. Positional arguments fill Args in order, then
// keyword arguments by Name.
type Arg struct {
	Name     string
	Kind     Kind
	Required bool
	Default  any
	Doc      string
	// KwOnly arguments are never filled by position, only by name (Python's
	// keyword-only arguments after *args: grains.item's delimiter,
	// file.write's args).
	KwOnly bool
}

// Func is one execution function.
type Func struct {
	Name string // dotted: "cmd.run"
	Doc  string
	Args []Arg
	// Varargs accepts extra positional arguments (test.arg); they are put in
	// Args.Extra. VarKwargs accepts undeclared keyword arguments into
	// Args.ExtraKw.
	Varargs   bool
	VarKwargs bool
	Run       func(ctx context.Context, env *Env, a *Args) (any, error)
}

// Env is what a function may use from the minion that runs it.
type Env struct {
	MinionID string
	JID      string
	Grains   map[string]any
	Pillar   map[string]any
	Opts     map[string]any
	Log      *slog.Logger
	// Runtime gives access to the minion's live state (running jobs, grain
	// and pillar refresh, file client). Nil in contexts without a minion.
	Runtime Runtime
	// Registry is the registry the function was called through, so a
	// function can call others (state runs, templates).
	Registry *Registry
}

// Runtime is implemented by the minion daemon (and by the masterless caller).
// Optional abilities (a file client, a state runner) are further interfaces
// found by type assertion on the Runtime value.
type Runtime interface {
	Running() []JobInfo
	Kill(jid string) error
	RefreshGrains(ctx context.Context) (map[string]any, error)
	RefreshPillar(ctx context.Context) (map[string]any, error)
}

// JobInfo describes a job running on a minion (saltutil.running).
type JobInfo struct {
	JID   string `json:"jid"`
	Fun   string `json:"fun"`
	Arg   []any  `json:"arg"`
	PID   int    `json:"pid"`
	Start string `json:"start"`
	Tgt   string `json:"tgt,omitempty"`
	User  string `json:"user,omitempty"`
}

// Args holds decoded, validated arguments.
type Args struct {
	vals    map[string]any
	set     map[string]bool
	Extra   []any
	ExtraKw map[string]any
}

// Has reports whether the caller gave the argument (not just its default).
func (a *Args) Has(name string) bool { return a.set[name] }

// Get returns the value (or default) of a declared argument.
func (a *Args) Get(name string) any { return a.vals[name] }

// String returns a String argument; "" when absent.
func (a *Args) String(name string) string { s, _ := a.vals[name].(string); return s }

// Int returns an Int argument.
func (a *Args) Int(name string) int64 { n, _ := a.vals[name].(int64); return n }

// Float returns a Float argument.
func (a *Args) Float(name string) float64 { f, _ := a.vals[name].(float64); return f }

// Bool returns a Bool argument.
func (a *Args) Bool(name string) bool { b, _ := a.vals[name].(bool); return b }

// List returns a List argument.
func (a *Args) List(name string) []any { l, _ := a.vals[name].([]any); return l }

// Map returns a Map argument.
func (a *Args) Map(name string) map[string]any { m, _ := a.vals[name].(map[string]any); return m }

// Registry maps dotted names to functions. The zero value is not usable; use
// NewRegistry.
type Registry struct {
	mu    sync.RWMutex // guards funcs
	funcs map[string]*Func
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{funcs: map[string]*Func{}} }

// Default is the registry the daemons use; packages register into it from init.
var Default = NewRegistry()

// Register adds f; it panics on a duplicate or malformed name, since that is
// a programming error found at start.
func (r *Registry) Register(f *Func) {
	if !strings.Contains(f.Name, ".") || f.Run == nil {
		panic("module: bad registration " + f.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.funcs[f.Name]; dup {
		panic("module: duplicate function " + f.Name)
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

// Names lists registered functions, sorted; with a prefix like "cmd." only
// those.
func (r *Registry) Names(prefix string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for n := range r.funcs {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Call validates the arguments and runs the function. Salt-style "key=value"
// strings among the positional args are treated as keyword arguments, as the
// salt CLI does.
func (r *Registry) Call(ctx context.Context, env *Env, name string, args []any, kwargs map[string]any) (any, error) {
	f, ok := r.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownFunction, name)
	}
	a, err := Bind(f, args, kwargs)
	if err != nil {
		return nil, err
	}
	if env == nil {
		env = &Env{}
	}
	if env.Registry == nil {
		env.Registry = r
	}
	if env.Log == nil {
		env.Log = slog.New(slog.DiscardHandler)
	}
	return f.Run(ctx, env, a)
}

// Bind checks args and kwargs against f's declaration.
func Bind(f *Func, args []any, kwargs map[string]any) (*Args, error) {
	kw := map[string]any{}
	for k, v := range kwargs {
		kw[k] = v
	}
	var pos []any
	for _, v := range args {
		if s, ok := v.(string); ok {
			if k, val, found := strings.Cut(s, "="); found && isIdent(k) {
				if _, declared := argIndex(f, k); declared || f.VarKwargs {
					kw[k] = ParseValue(val)
					continue
				}
			}
		}
		pos = append(pos, v)
	}
	a := &Args{vals: map[string]any{}, set: map[string]bool{}, ExtraKw: map[string]any{}}
	positional := make([]string, 0, len(f.Args))
	for _, d := range f.Args {
		if !d.KwOnly {
			positional = append(positional, d.Name)
		}
	}
	for i, v := range pos {
		if i >= len(positional) {
			if !f.Varargs {
				return nil, fmt.Errorf("%w: %s takes at most %d positional arguments, got %d", ErrBadArgs, f.Name, len(positional), len(pos))
			}
			a.Extra = append(a.Extra, v)
			continue
		}
		name := positional[i]
		if _, dup := kw[name]; dup {
			return nil, fmt.Errorf("%w: %s: argument %q given both by position and by name", ErrBadArgs, f.Name, name)
		}
		kw[name] = v
	}
	for k, v := range kw {
		i, ok := argIndex(f, k)
		if !ok {
			if f.VarKwargs || strings.HasPrefix(k, "__") {
				a.ExtraKw[k] = v
				continue
			}
			return nil, fmt.Errorf("%w: %s: unknown argument %q", ErrBadArgs, f.Name, k)
		}
		cv, err := convert(v, f.Args[i].Kind)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: argument %q: %v", ErrBadArgs, f.Name, k, err)
		}
		a.vals[k] = cv
		a.set[k] = true
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
	return a, nil
}

func argIndex(f *Func, name string) (int, bool) {
	for i, a := range f.Args {
		if a.Name == name {
			return i, true
		}
	}
	return 0, false
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}
