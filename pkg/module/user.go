package module

import (
	"context"
	"fmt"

	"github.com/brine-project/brine/pkg/state/account"
)

// User execution functions (Salt's useradd module) on pkg/state/account.

func init() {
	name := Arg{Name: "name", Kind: String, Required: true, Doc: "user name"}
	Default.Register(&Func{Name: "user.info", Doc: "Return the user's name, uid, gid, groups, home, shell, fullname; {} when absent.",
		Args: []Arg{name}, Run: func(_ context.Context, _ *Env, a *Args) (any, error) {
			u, err := account.LookupUser(a.String("name"))
			if err != nil || u == nil {
				return map[string]any{}, err
			}
			return userInfo(u), nil
		}})
	Default.Register(&Func{Name: "user.list_users", Doc: "Return the names of all local users.", Run: func(context.Context, *Env, *Args) (any, error) {
		us, err := account.Users()
		if err != nil {
			return nil, err
		}
		out := make([]any, len(us))
		for i, u := range us {
			out[i] = u.Name
		}
		return out, nil
	}})
	Default.Register(&Func{Name: "user.list_groups", Doc: "Return the groups the user belongs to.", Args: []Arg{name},
		Run: func(_ context.Context, _ *Env, a *Args) (any, error) {
			u, err := account.LookupUser(a.String("name"))
			if err != nil {
				return nil, err
			}
			if u == nil {
				return []any{}, nil
			}
			return anyStrings(u.Groups), nil
		}})
	Default.Register(&Func{Name: "user.add", Doc: "Create a user; return True.", Args: []Arg{name,
		{Name: "uid", Kind: Int}, {Name: "gid", Kind: String}, {Name: "groups", Kind: List}, {Name: "home", Kind: String},
		{Name: "shell", Kind: String}, {Name: "unique", Kind: Bool, Default: true}, {Name: "system", Kind: Bool, Default: false},
		{Name: "fullname", Kind: String}, {Name: "createhome", Kind: Bool, Default: true}, {Name: "usergroup", Kind: Bool, Default: true},
	}, Run: func(ctx context.Context, _ *Env, a *Args) (any, error) {
		s := account.UserSpec{GID: a.String("gid"), Home: a.String("home"), Shell: a.String("shell"), CreateHome: a.Bool("createhome"),
			System: a.Bool("system"), UserGroup: a.Bool("usergroup")}
		for _, g := range a.List("groups") {
			s.Groups = append(s.Groups, fmt.Sprint(g))
		}
		if a.Has("uid") {
			n := int(a.Int("uid"))
			s.UID = &n
		}
		if a.Has("fullname") {
			f := a.String("fullname")
			s.Fullname = &f
		}
		if err := account.AddUser(ctx, a.String("name"), s); err != nil {
			return nil, err
		}
		return true, nil
	}})
	Default.Register(&Func{Name: "user.delete", Doc: "Remove a user (remove: and its home); return True.", Args: []Arg{name,
		{Name: "remove", Kind: Bool, Default: false}, {Name: "force", Kind: Bool, Default: false},
	}, Run: func(ctx context.Context, _ *Env, a *Args) (any, error) {
		if err := account.DeleteUser(ctx, a.String("name"), a.Bool("remove"), a.Bool("force")); err != nil {
			return nil, err
		}
		return true, nil
	}})
}

func userInfo(u *account.User) map[string]any {
	return map[string]any{"name": u.Name, "uid": int64(u.UID), "gid": int64(u.GID), "groups": anyStrings(u.Groups),
		"home": u.Home, "shell": u.Shell, "fullname": u.Fullname, "passwd": "x"}
}

func anyStrings(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}
