package module

import (
	"context"
	"fmt"

	"github.com/brine-project/brine/pkg/state/account"
)

// Group execution functions (Salt's groupadd module).

func init() {
	name := Arg{Name: "name", Kind: String, Required: true, Doc: "group name"}
	Default.Register(&Func{Name: "group.info", Doc: "Return the group's name, gid and members; {} when absent.", Args: []Arg{name},
		Run: func(_ context.Context, _ *Env, a *Args) (any, error) {
			g, err := account.LookupGroup(a.String("name"))
			if err != nil || g == nil {
				return map[string]any{}, err
			}
			return groupInfo(g), nil
		}})
	Default.Register(&Func{Name: "group.getent", Doc: "Return every group's info.", Run: func(context.Context, *Env, *Args) (any, error) {
		gs, err := account.Groups()
		if err != nil {
			return nil, err
		}
		out := make([]any, len(gs))
		for i := range gs {
			out[i] = groupInfo(&gs[i])
		}
		return out, nil
	}})
	Default.Register(&Func{Name: "group.add", Doc: "Create a group; return True.", Args: []Arg{name,
		{Name: "gid", Kind: Int}, {Name: "system", Kind: Bool, Default: false},
	}, Run: func(ctx context.Context, _ *Env, a *Args) (any, error) {
		var gid *int
		if a.Has("gid") {
			n := int(a.Int("gid"))
			gid = &n
		}
		if err := account.AddGroup(ctx, a.String("name"), gid, a.Bool("system")); err != nil {
			return nil, err
		}
		return true, nil
	}})
	Default.Register(&Func{Name: "group.delete", Doc: "Remove a group; return True.", Args: []Arg{name},
		Run: func(ctx context.Context, _ *Env, a *Args) (any, error) {
			if err := account.DeleteGroup(ctx, a.String("name")); err != nil {
				return nil, err
			}
			return true, nil
		}})
	for _, op := range []string{"adduser", "deluser"} {
		Default.Register(&Func{Name: "group." + op, Doc: "Add (adduser) or remove (deluser) a user from a group; return True.",
			Args: []Arg{name, {Name: "username", Kind: String, Required: true}},
			Run: func(ctx context.Context, _ *Env, a *Args) (any, error) {
				g, err := account.LookupGroup(a.String("name"))
				if err != nil {
					return nil, err
				}
				if g == nil {
					return nil, fmt.Errorf("module: group %s does not exist", a.String("name"))
				}
				flag := "-a"
				if op == "deluser" {
					flag = "-d"
				}
				if err := account.Run(ctx, "gpasswd", flag, a.String("username"), g.Name); err != nil {
					return nil, err
				}
				return true, nil
			}})
	}
}

func groupInfo(g *account.Group) map[string]any {
	return map[string]any{"name": g.Name, "gid": int64(g.GID), "members": anyStrings(g.Members), "passwd": "x"}
}
