package module

import (
	"context"
	"sort"
)

// The grains.* functions read the grains the minion passed in Env.Grains;
// refreshing them is saltutil.refresh_grains.
func init() {
	Default.Register(&Func{
		Name: "grains.items",
		Doc:  "Return all grains.",
		Run: func(_ context.Context, env *Env, _ *Args) (any, error) {
			if env.Grains == nil {
				return map[string]any{}, nil
			}
			return env.Grains, nil
		},
	})
	Default.Register(&Func{
		Name: "grains.item",
		Doc: "Return the named grains as {name: value}; names may be nested paths (\"a:b\"). " +
			"A missing grain maps to default.",
		Varargs: true,
		Args: []Arg{
			{Name: "default", Kind: Any, Default: "", KwOnly: true, Doc: "value for missing grains"},
			{Name: "delimiter", Kind: String, Default: ":", KwOnly: true, Doc: "separator of nested keys"},
			{Name: "sanitize", Kind: Bool, KwOnly: true, Doc: "accepted for Salt compatibility; Brine has no sensitive grains"},
		},
		Run: func(_ context.Context, env *Env, a *Args) (any, error) {
			out := map[string]any{}
			for i, k := range a.Extra {
				key, ok := k.(string)
				if !ok {
					return nil, badArg("grains.item", "args", "grain name %d is %T, want string", i+1, k)
				}
				out[key] = Traverse(env.Grains, key, a.Get("default"), a.String("delimiter"))
			}
			return out, nil
		},
	})
	Default.Register(&Func{
		Name: "grains.get",
		Doc:  "Return the grain at key, a path of nested keys such as \"ip_interfaces:eth0\", or default when it is missing.",
		Args: []Arg{
			{Name: "key", Kind: String, Required: true, Doc: "grain name or nested path"},
			{Name: "default", Kind: Any, Default: "", Doc: "value returned when the key is missing"},
			{Name: "delimiter", Kind: String, Default: ":", Doc: "separator of nested keys"},
			{Name: "ordered", Kind: Bool, Default: true, Doc: "accepted for Salt compatibility"},
		},
		Run: func(_ context.Context, env *Env, a *Args) (any, error) {
			return Traverse(env.Grains, a.String("key"), a.Get("default"), a.String("delimiter")), nil
		},
	})
	Default.Register(&Func{
		Name: "grains.ls",
		Doc:  "Return the sorted list of grain names.",
		Run: func(_ context.Context, env *Env, _ *Args) (any, error) {
			keys := make([]string, 0, len(env.Grains))
			for k := range env.Grains {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return keys, nil
		},
	})
	Default.Register(&Func{
		Name: "grains.has_value",
		Doc:  "Return whether the grain at key (a nested path allowed) exists.",
		Args: []Arg{{Name: "key", Kind: String, Required: true, Doc: "grain name or nested path"}},
		Run: func(_ context.Context, env *Env, a *Args) (any, error) {
			missing := &struct{}{}
			return Traverse(env.Grains, a.String("key"), missing, ":") != missing, nil
		},
	})
}
