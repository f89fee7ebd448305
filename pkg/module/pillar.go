package module

import (
	"context"
	"fmt"
	"sort"
)

// The pillar.* functions read the pillar the minion holds in Env.Pillar
// (compiled on the master for this minion only); saltutil.refresh_pillar
// fetches it again.
func init() {
	getArgs := []Arg{
		{Name: "key", Kind: String, Required: true, Doc: "pillar key or nested path such as \"web:repo:url\""},
		{Name: "default", Kind: Any, Default: "", Doc: "value returned when the key is missing"},
		{Name: "merge", Kind: Bool, Default: false, Doc: "merge the found dict (or list) into default instead of replacing it"},
		{Name: "merge_nested_lists", Kind: Bool, Default: false, Doc: "with merge, concatenate lists nested in dicts"},
		{Name: "delimiter", Kind: String, Default: ":", Doc: "separator of nested keys"},
		{Name: "pillarenv", Kind: String, KwOnly: true, Doc: "accepted for Salt compatibility: the minion holds one compiled pillar"},
		{Name: "saltenv", Kind: String, KwOnly: true, Doc: "accepted for Salt compatibility"},
	}
	for _, name := range []string{"pillar.get", "pillar.fetch"} {
		name := name
		Default.Register(&Func{
			Name: name,
			Doc: "Return the pillar value at key (a nested path allowed) or default. With merge=True a dict default " +
				"is merged under the found dict, a list default extended with the found items.",
			Args: getArgs,
			Run: func(_ context.Context, env *Env, a *Args) (any, error) {
				return pillarGet(name, env.Pillar, a)
			},
		})
	}
	Default.Register(&Func{
		Name:    "pillar.items",
		Doc:     "Return the whole pillar; with key arguments only those keys, as pillar.item.",
		Varargs: true,
		Args: []Arg{
			{Name: "pillarenv", Kind: String, KwOnly: true, Doc: "accepted for Salt compatibility"},
			{Name: "saltenv", Kind: String, KwOnly: true, Doc: "accepted for Salt compatibility"},
			{Name: "pillar", Kind: Map, KwOnly: true, Doc: "pillar data merged over the result"},
		},
		Run: func(_ context.Context, env *Env, a *Args) (any, error) {
			if len(a.Extra) > 0 {
				return pillarItem("pillar.items", env.Pillar, a.Extra, "", ":")
			}
			out := deepCopyData(orEmptyMap(env.Pillar)).(map[string]any)
			if over := a.Map("pillar"); over != nil {
				out = mergeData(out, over, false)
			}
			return out, nil
		},
	})
	Default.Register(&Func{
		Name:    "pillar.item",
		Doc:     "Return the named pillar keys as {key: value}; keys may be nested paths. A missing key maps to default.",
		Varargs: true,
		Args: []Arg{
			{Name: "default", Kind: Any, Default: "", KwOnly: true, Doc: "value for missing keys"},
			{Name: "delimiter", Kind: String, Default: ":", KwOnly: true, Doc: "separator of nested keys"},
			{Name: "pillarenv", Kind: String, KwOnly: true, Doc: "accepted for Salt compatibility"},
			{Name: "saltenv", Kind: String, KwOnly: true, Doc: "accepted for Salt compatibility"},
		},
		Run: func(_ context.Context, env *Env, a *Args) (any, error) {
			return pillarItem("pillar.item", env.Pillar, a.Extra, a.Get("default"), a.String("delimiter"))
		},
	})
	Default.Register(&Func{
		Name: "pillar.raw",
		Doc:  "Return the whole pillar, or the value at key.",
		Args: []Arg{{Name: "key", Kind: String, Doc: "pillar key or nested path"}},
		Run: func(_ context.Context, env *Env, a *Args) (any, error) {
			if a.String("key") == "" {
				return deepCopyData(orEmptyMap(env.Pillar)), nil
			}
			return deepCopyData(Traverse(env.Pillar, a.String("key"), nil, ":")), nil
		},
	})
	Default.Register(&Func{
		Name: "pillar.keys",
		Doc:  "Return the sorted keys of the pillar dict at key (a nested path allowed).",
		Args: []Arg{
			{Name: "key", Kind: String, Required: true, Doc: "pillar key or nested path of a dict"},
			{Name: "delimiter", Kind: String, Default: ":", Doc: "separator of nested keys"},
		},
		Run: func(_ context.Context, env *Env, a *Args) (any, error) {
			missing := &struct{}{}
			v := Traverse(env.Pillar, a.String("key"), missing, a.String("delimiter"))
			if v == missing {
				return nil, fmt.Errorf("module: pillar.keys: pillar key %q not found", a.String("key"))
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("module: pillar.keys: pillar key %q is not a dict", a.String("key"))
			}
			return sortedMapKeys(m), nil
		},
	})
	Default.Register(&Func{
		Name: "pillar.ls",
		Doc:  "Return the sorted list of top-level pillar keys.",
		Run: func(_ context.Context, env *Env, _ *Args) (any, error) {
			return sortedMapKeys(env.Pillar), nil
		},
	})
}

func pillarGet(fun string, pillar map[string]any, a *Args) (any, error) {
	key, delim, def := a.String("key"), a.String("delimiter"), a.Get("default")
	if a.Bool("merge") {
		switch d := def.(type) {
		case map[string]any:
			if found, ok := Traverse(pillar, key, nil, delim).(map[string]any); ok {
				return mergeData(deepCopyData(d).(map[string]any), found, a.Bool("merge_nested_lists")), nil
			}
			return deepCopyData(d), nil
		case []any:
			out := deepCopyData(d).([]any)
			if found, ok := Traverse(pillar, key, nil, delim).([]any); ok {
				for _, e := range found {
					if !containsValue(out, e) {
						out = append(out, deepCopyData(e))
					}
				}
			}
			return out, nil
		default:
			return nil, badArg(fun, "default", "merge=True needs a dict or list default, got %T", def)
		}
	}
	return deepCopyData(Traverse(pillar, key, def, delim)), nil
}

func pillarItem(fun string, pillar map[string]any, keys []any, def any, delim string) (any, error) {
	out := map[string]any{}
	for i, k := range keys {
		key, ok := k.(string)
		if !ok {
			return nil, badArg(fun, "args", "key %d is %T, want string", i+1, k)
		}
		out[key] = deepCopyData(Traverse(pillar, key, def, delim))
	}
	return out, nil
}

func orEmptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func sortedMapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// mergeData merges src into dst recursively (Salt's dictupdate.update):
// nested dicts merge, lists concatenate with mergeLists, anything else in
// src replaces dst's value.
func mergeData(dst, src map[string]any, mergeLists bool) map[string]any {
	for k, sv := range src {
		switch s := sv.(type) {
		case map[string]any:
			if d, ok := dst[k].(map[string]any); ok {
				dst[k] = mergeData(d, s, mergeLists)
				continue
			}
		case []any:
			if d, ok := dst[k].([]any); ok && mergeLists {
				dst[k] = append(append([]any{}, d...), deepCopyData(s).([]any)...)
				continue
			}
		}
		dst[k] = deepCopyData(sv)
	}
	return dst
}

// deepCopyData copies maps and lists so callers never share the minion's
// pillar.
func deepCopyData(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopyData(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopyData(e)
		}
		return out
	}
	return v
}

func containsValue(l []any, v any) bool {
	for _, e := range l {
		if fmt.Sprintf("%T:%v", e, e) == fmt.Sprintf("%T:%v", v, v) {
			return true
		}
	}
	return false
}
