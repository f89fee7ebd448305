package state

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/brine-project/brine/pkg/state/account"
)

func init() {
	Default.Register(&Func{Name: "user.present", Doc: "Ensure a local user exists with these properties.", Args: []Arg{
		{Name: "uid", Kind: Int}, {Name: "gid", Kind: String}, {Name: "groups", Kind: List}, {Name: "optional_groups", Kind: List},
		{Name: "remove_groups", Kind: Bool, Default: true}, {Name: "home", Kind: String}, {Name: "createhome", Kind: Bool, Default: true},
		{Name: "shell", Kind: String}, {Name: "fullname", Kind: String}, {Name: "password", Kind: String, Doc: "crypt(3) hash"},
		{Name: "empty_password", Kind: Bool, Default: false}, {Name: "system", Kind: Bool, Default: false},
		{Name: "usergroup", Kind: Bool, Default: true}, {Name: "allow_uid_change", Kind: Bool, Default: false},
		{Name: "allow_gid_change", Kind: Bool, Default: false},
	}, Run: userPresent})
	Default.Register(&Func{Name: "user.absent", Doc: "Ensure a local user does not exist.", Args: []Arg{
		{Name: "purge", Kind: Bool, Default: false}, {Name: "force", Kind: Bool, Default: false},
	}, Run: userAbsent})
	Default.Register(&Func{Name: "group.present", Doc: "Ensure a local group exists.", Args: []Arg{
		{Name: "gid", Kind: Int}, {Name: "system", Kind: Bool, Default: false}, {Name: "members", Kind: List},
		{Name: "addusers", Kind: List}, {Name: "delusers", Kind: List},
	}, Run: groupPresent})
	Default.Register(&Func{Name: "group.absent", Doc: "Ensure a local group does not exist.", Run: groupAbsent})
}

const redacted = "XXX-REDACTED-XXX"

func userPresent(ctx context.Context, c *Call) Ret {
	a := c.Args
	name := c.Name
	// Supplementary groups: groups must exist; optional_groups if they do.
	var groups []string
	var missing []string
	for _, g := range a.Strings("groups") {
		if grp, err := account.LookupGroup(g); err != nil || grp == nil {
			missing = append(missing, g)
			continue
		}
		groups = append(groups, g)
	}
	for _, g := range a.Strings("optional_groups") {
		if grp, _ := account.LookupGroup(g); grp != nil {
			groups = append(groups, g)
		}
	}
	if len(missing) > 0 {
		// In test mode an earlier group.present may only be pending.
		if c.Test {
			return Ret{Result: None, Changes: map[string]any{"groups": toAny(missing)}, Comment: "The following group(s) are not present yet: " + strings.Join(missing, ",")}
		}
		return Ret{Result: False, Comment: "The following group(s) are not present: " + strings.Join(missing, ",")}
	}
	sort.Strings(groups)
	var password *string
	if a.Has("password") {
		p := a.String("password")
		password = &p
	} else if a.Bool("empty_password") {
		p := ""
		password = &p
	}
	u, err := account.LookupUser(name)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if u == nil {
		return userCreate(ctx, c, groups, password)
	}
	spec := account.UserSpec{}
	ch := map[string]any{}
	if a.Has("uid") && int(a.Int("uid")) != u.UID {
		if !a.Bool("allow_uid_change") {
			return Ret{Result: False, Comment: fmt.Sprintf("Changing uid (%d -> %d) not permitted, set allow_uid_change to True to force this change. Note that this will not change file ownership.", u.UID, a.Int("uid"))}
		}
		n := int(a.Int("uid"))
		spec.UID, ch["uid"] = &n, int64(n)
	}
	if a.Has("gid") {
		gid, err := account.ResolveGID(a.String("gid"))
		if err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		if gid != u.GID {
			if !a.Bool("allow_gid_change") {
				return Ret{Result: False, Comment: fmt.Sprintf("Changing gid (%d -> %d) not permitted, set allow_gid_change to True to force this change. Note that this will not change file ownership.", u.GID, gid)}
			}
			spec.GID, ch["gid"] = strconv.Itoa(gid), int64(gid)
		}
	}
	if a.Has("groups") || a.Has("optional_groups") {
		cur := u.Supplementary()
		want := groups
		if !a.Bool("remove_groups") {
			want = union(cur, groups)
		}
		if !sameSet(cur, want) {
			spec.Groups, spec.SetGroups = want, true
			ch["groups"] = toAny(want)
		}
	}
	if h := a.String("home"); h != "" && h != u.Home {
		spec.Home, ch["home"] = h, h
	}
	if s := a.String("shell"); s != "" && s != u.Shell {
		spec.Shell, ch["shell"] = s, s
	}
	if a.Has("fullname") && a.String("fullname") != u.Fullname {
		f := a.String("fullname")
		spec.Fullname, ch["fullname"] = &f, f
	}
	if password != nil && *password != u.Password {
		spec.Password, ch["passwd"] = password, redacted
	}
	home := u.Home
	if spec.Home != "" {
		home = spec.Home
	}
	makeHome := false
	if a.Bool("createhome") && home != "" {
		if _, err := os.Stat(home); os.IsNotExist(err) {
			makeHome = true
			ch["home"] = home
		}
	}
	if len(ch) == 0 {
		return Ret{Result: True, Comment: fmt.Sprintf("User %s is present and up to date", name)}
	}
	if c.Test {
		return Ret{Result: None, Changes: ch, Comment: fmt.Sprintf("The following user attributes are set to be changed:\n%s", keysOf(ch))}
	}
	if err := account.ModifyUser(ctx, name, spec); err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if makeHome {
		if err := os.MkdirAll(home, 0o750); err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		nu, _ := account.LookupUser(name)
		if nu != nil {
			_ = os.Chown(home, nu.UID, nu.GID)
		}
	}
	return Ret{Result: True, Changes: ch, Comment: fmt.Sprintf("Updated user %s", name)}
}

func userCreate(ctx context.Context, c *Call, groups []string, password *string) Ret {
	a := c.Args
	name := c.Name
	spec := account.UserSpec{Groups: groups, Home: a.String("home"), CreateHome: a.Bool("createhome"), Shell: a.String("shell"),
		Password: password, System: a.Bool("system"), UserGroup: a.Bool("usergroup")}
	if a.Has("uid") {
		n := int(a.Int("uid"))
		spec.UID = &n
	}
	if a.Has("gid") {
		spec.GID = a.String("gid")
	}
	if a.Has("fullname") {
		f := a.String("fullname")
		spec.Fullname = &f
	}
	if c.Test {
		return Ret{Result: None, Changes: map[string]any{"name": name}, Comment: fmt.Sprintf("User %s set to be added", name)}
	}
	if err := account.AddUser(ctx, name, spec); err != nil {
		return Ret{Result: False, Comment: fmt.Sprintf("Failed to create new user %s: %v", name, err)}
	}
	u, err := account.LookupUser(name)
	if err != nil || u == nil {
		return Ret{Result: False, Comment: fmt.Sprintf("Failed to create new user %s", name)}
	}
	ch := map[string]any{"name": u.Name, "uid": int64(u.UID), "gid": int64(u.GID), "groups": toAny(u.Groups),
		"home": u.Home, "shell": u.Shell, "fullname": u.Fullname}
	if password != nil {
		ch["passwd"] = redacted
	}
	return Ret{Result: True, Changes: ch, Comment: fmt.Sprintf("New user %s created", name)}
}

func userAbsent(ctx context.Context, c *Call) Ret {
	u, err := account.LookupUser(c.Name)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if u == nil {
		return Ret{Result: True, Comment: "User not present"}
	}
	ch := map[string]any{c.Name: "removed"}
	if c.Test {
		return Ret{Result: None, Changes: ch, Comment: fmt.Sprintf("User %s set for removal", c.Name)}
	}
	if err := account.DeleteUser(ctx, c.Name, c.Args.Bool("purge"), c.Args.Bool("force")); err != nil {
		return Ret{Result: False, Comment: fmt.Sprintf("Failed to remove user %s: %v", c.Name, err)}
	}
	return Ret{Result: True, Changes: ch, Comment: fmt.Sprintf("Removed user %s", c.Name)}
}

func groupPresent(ctx context.Context, c *Call) Ret {
	a := c.Args
	name := c.Name
	if a.Has("members") && (a.Has("addusers") || a.Has("delusers")) {
		return Ret{Result: False, Comment: "Error: Conflicting options \"members\" with \"addusers\" and/or \"delusers\" can not be used together."}
	}
	g, err := account.LookupGroup(name)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	ch := map[string]any{}
	var cur []string
	if g != nil {
		cur = g.Members
		if a.Has("gid") && int(a.Int("gid")) != g.GID {
			ch["gid"] = a.Int("gid")
		}
	}
	want := cur
	switch {
	case a.Has("members"):
		want = a.Strings("members")
	case a.Has("addusers") || a.Has("delusers"):
		want = union(cur, a.Strings("addusers"))
		want = minus(want, a.Strings("delusers"))
	}
	sort.Strings(want)
	if !sameSet(cur, want) {
		ch["members"] = toAny(want)
	}
	if g != nil && len(ch) == 0 {
		return Ret{Result: True, Comment: fmt.Sprintf("Group %s is present and up to date", name)}
	}
	if c.Test {
		if g == nil {
			ch["name"] = name
			return Ret{Result: None, Changes: ch, Comment: fmt.Sprintf("Group %s set to be added", name)}
		}
		return Ret{Result: None, Changes: ch, Comment: fmt.Sprintf("The following group attributes are set to be changed:\n%s", keysOf(ch))}
	}
	if g == nil {
		var gid *int
		if a.Has("gid") {
			n := int(a.Int("gid"))
			gid = &n
		}
		if err := account.AddGroup(ctx, name, gid, a.Bool("system")); err != nil {
			return Ret{Result: False, Comment: fmt.Sprintf("Failed to create new group %s: %v", name, err)}
		}
	} else if _, ok := ch["gid"]; ok {
		if err := account.SetGroupGID(ctx, name, int(a.Int("gid"))); err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
	}
	if !sameSet(cur, want) {
		if err := account.SetMembers(ctx, name, want); err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
	}
	if g == nil {
		ng, _ := account.LookupGroup(name)
		if ng == nil {
			return Ret{Result: False, Comment: fmt.Sprintf("Failed to create new group %s", name)}
		}
		return Ret{Result: True, Changes: map[string]any{"name": ng.Name, "gid": int64(ng.GID), "members": toAny(ng.Members)},
			Comment: fmt.Sprintf("New group %s created", name)}
	}
	return Ret{Result: True, Changes: ch, Comment: fmt.Sprintf("Updated group %s", name)}
}

func groupAbsent(ctx context.Context, c *Call) Ret {
	g, err := account.LookupGroup(c.Name)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if g == nil {
		return Ret{Result: True, Comment: "Group not present"}
	}
	if c.Test {
		return Ret{Result: None, Changes: map[string]any{c.Name: ""}, Comment: fmt.Sprintf("Group %s is set for removal", c.Name)}
	}
	if err := account.DeleteGroup(ctx, c.Name); err != nil {
		return Ret{Result: False, Comment: fmt.Sprintf("Failed to remove group %s: %v", c.Name, err)}
	}
	return Ret{Result: True, Changes: map[string]any{c.Name: ""}, Comment: fmt.Sprintf("Removed group %s", c.Name)}
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range [][]string{a, b} {
		for _, x := range l {
			if !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		}
	}
	sort.Strings(out)
	return out
}

func minus(a, b []string) []string {
	drop := map[string]bool{}
	for _, x := range b {
		drop[x] = true
	}
	var out []string
	for _, x := range a {
		if !drop[x] {
			out = append(out, x)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	return strings.Join(union(a, nil), ",") == strings.Join(union(b, nil), ",")
}

func toAny(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

func keysOf(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, "\n")
}
