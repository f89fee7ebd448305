// Package account reads and changes local users and groups for the
// user/group states and execution functions. Reads parse /etc/passwd,
// /etc/group and /etc/shadow (so the answer is what the files say now, not
// a cached NSS view); changes go through the shadow utilities (useradd,
// usermod, userdel, groupadd, groupmod, groupdel, gpasswd), which keep the
// files locked and consistent.
package account

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Files are the databases read; tests keep the defaults.
var (
	PasswdFile = "/etc/passwd"
	GroupFile  = "/etc/group"
	ShadowFile = "/etc/shadow"
)

// User is one passwd entry with its supplementary groups and password hash.
type User struct {
	Name     string   `json:"name"`
	UID      int      `json:"uid"`
	GID      int      `json:"gid"`
	Fullname string   `json:"fullname"`
	Home     string   `json:"home"`
	Shell    string   `json:"shell"`
	Groups   []string `json:"groups"` // primary group first, then supplementary, sorted
	Password string   `json:"passwd"` // hash from shadow
}

// Group is one group entry.
type Group struct {
	Name    string   `json:"name"`
	GID     int      `json:"gid"`
	Members []string `json:"members"`
}

func readLines(path string) ([][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out, sc.Err()
}

// Groups returns every group.
func Groups() ([]Group, error) {
	lines, err := readLines(GroupFile)
	if err != nil {
		return nil, err
	}
	var out []Group
	for _, f := range lines {
		if len(f) < 4 {
			continue
		}
		gid, _ := strconv.Atoi(f[2])
		var members []string
		for _, m := range strings.Split(f[3], ",") {
			if m != "" {
				members = append(members, m)
			}
		}
		sort.Strings(members)
		out = append(out, Group{Name: f[0], GID: gid, Members: members})
	}
	return out, nil
}

// LookupGroup returns the group, or nil when there is none.
func LookupGroup(name string) (*Group, error) {
	gs, err := Groups()
	if err != nil {
		return nil, err
	}
	for i := range gs {
		if gs[i].Name == name {
			return &gs[i], nil
		}
	}
	return nil, nil
}

// Users returns every user with groups and password hash.
func Users() ([]User, error) {
	lines, err := readLines(PasswdFile)
	if err != nil {
		return nil, err
	}
	groups, err := Groups()
	if err != nil {
		return nil, err
	}
	hashes := map[string]string{}
	if sl, err := readLines(ShadowFile); err == nil {
		for _, f := range sl {
			if len(f) > 1 {
				hashes[f[0]] = f[1]
			}
		}
	}
	var out []User
	for _, f := range lines {
		if len(f) < 7 {
			continue
		}
		uid, _ := strconv.Atoi(f[2])
		gid, _ := strconv.Atoi(f[3])
		u := User{Name: f[0], UID: uid, GID: gid, Fullname: strings.Split(f[4], ",")[0], Home: f[5], Shell: f[6], Password: hashes[f[0]]}
		var supp []string
		primary := ""
		for _, g := range groups {
			if g.GID == gid && primary == "" {
				primary = g.Name
			}
			for _, m := range g.Members {
				if m == u.Name && g.GID != gid {
					supp = append(supp, g.Name)
				}
			}
		}
		sort.Strings(supp)
		if primary != "" {
			u.Groups = append([]string{primary}, supp...)
		} else {
			u.Groups = supp
		}
		out = append(out, u)
	}
	return out, nil
}

// LookupUser returns the user, or nil when there is none.
func LookupUser(name string) (*User, error) {
	us, err := Users()
	if err != nil {
		return nil, err
	}
	for i := range us {
		if us[i].Name == name {
			return &us[i], nil
		}
	}
	return nil, nil
}

// Supplementary returns u's groups other than its primary group.
func (u *User) Supplementary() []string {
	if len(u.Groups) == 0 {
		return nil
	}
	g, err := LookupGroupByID(u.GID)
	if err == nil && g != nil && u.Groups[0] == g.Name {
		return u.Groups[1:]
	}
	return u.Groups
}

// LookupGroupByID returns the group with gid, or nil.
func LookupGroupByID(gid int) (*Group, error) {
	gs, err := Groups()
	if err != nil {
		return nil, err
	}
	for i := range gs {
		if gs[i].GID == gid {
			return &gs[i], nil
		}
	}
	return nil, nil
}

// ResolveGID turns a group name or number into a gid.
func ResolveGID(g string) (int, error) {
	if n, err := strconv.Atoi(g); err == nil {
		return n, nil
	}
	grp, err := LookupGroup(g)
	if err != nil {
		return 0, err
	}
	if grp == nil {
		return 0, fmt.Errorf("account: group %s does not exist", g)
	}
	return grp.GID, nil
}

// LockFile serializes changes between processes that use this package:
// the shadow utilities refuse to run ("cannot lock /etc/passwd") while
// another holds the files' lock, instead of waiting.
var LockFile = "/run/lock/brine-account.lock"

var procLock sync.Mutex // serializes Run within the process

func lockAccounts() (unlock func(), err error) {
	procLock.Lock()
	f, err := os.OpenFile(LockFile, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		f, err = os.OpenFile(filepath.Join(os.TempDir(), "brine-account.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	}
	if err != nil {
		procLock.Unlock()
		return nil, fmt.Errorf("account: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		procLock.Unlock()
		return nil, fmt.Errorf("account: lock: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
		procLock.Unlock()
	}, nil
}

// Run runs a shadow utility, one at a time across Brine processes.
func Run(ctx context.Context, name string, args ...string) error {
	unlock, err := lockAccounts()
	if err != nil {
		return err
	}
	defer unlock()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		msg := strings.TrimSpace(string(out))
		if errors.As(err, &ee) {
			return fmt.Errorf("account: %s %s: exit %d: %s", name, strings.Join(args, " "), ee.ExitCode(), msg)
		}
		return fmt.Errorf("account: %s: %w", name, err)
	}
	return nil
}

// UserSpec is what to create or change; nil/empty fields are left alone.
type UserSpec struct {
	UID        *int
	GID        string // name or number
	Groups     []string
	SetGroups  bool // replace supplementary groups with Groups
	Home       string
	CreateHome bool
	MoveHome   bool
	Shell      string
	Fullname   *string
	Password   *string // hash
	System     bool
	UserGroup  bool // create a group named like the user
}

// AddUser creates a user with useradd.
func AddUser(ctx context.Context, name string, s UserSpec) error {
	args := []string{}
	if s.UID != nil {
		args = append(args, "-u", strconv.Itoa(*s.UID))
	}
	if s.GID != "" {
		args = append(args, "-g", s.GID)
	} else if s.UserGroup {
		args = append(args, "-U")
	} else {
		args = append(args, "-N")
	}
	if len(s.Groups) > 0 {
		args = append(args, "-G", strings.Join(s.Groups, ","))
	}
	if s.Home != "" {
		args = append(args, "-d", s.Home)
	}
	if s.CreateHome {
		args = append(args, "-m")
	} else {
		args = append(args, "-M")
	}
	if s.Shell != "" {
		args = append(args, "-s", s.Shell)
	}
	if s.Fullname != nil {
		args = append(args, "-c", *s.Fullname)
	}
	if s.Password != nil {
		args = append(args, "-p", *s.Password)
	}
	if s.System {
		args = append(args, "-r")
	}
	return Run(ctx, "useradd", append(args, name)...)
}

// ModifyUser changes a user with usermod.
func ModifyUser(ctx context.Context, name string, s UserSpec) error {
	var args []string
	if s.UID != nil {
		args = append(args, "-u", strconv.Itoa(*s.UID))
	}
	if s.GID != "" {
		args = append(args, "-g", s.GID)
	}
	if s.SetGroups {
		args = append(args, "-G", strings.Join(s.Groups, ","))
	}
	if s.Home != "" {
		args = append(args, "-d", s.Home)
		if s.MoveHome {
			args = append(args, "-m")
		}
	}
	if s.Shell != "" {
		args = append(args, "-s", s.Shell)
	}
	if s.Fullname != nil {
		args = append(args, "-c", *s.Fullname)
	}
	if s.Password != nil {
		args = append(args, "-p", *s.Password)
	}
	if len(args) == 0 {
		return nil
	}
	return Run(ctx, "usermod", append(args, name)...)
}

// DeleteUser removes a user (removeHome: and its home and mail spool).
func DeleteUser(ctx context.Context, name string, removeHome, force bool) error {
	args := []string{}
	if removeHome {
		args = append(args, "-r")
	}
	if force {
		args = append(args, "-f")
	}
	return Run(ctx, "userdel", append(args, name)...)
}

// AddGroup creates a group.
func AddGroup(ctx context.Context, name string, gid *int, system bool) error {
	args := []string{}
	if gid != nil {
		args = append(args, "-g", strconv.Itoa(*gid))
	}
	if system {
		args = append(args, "-r")
	}
	return Run(ctx, "groupadd", append(args, name)...)
}

// SetGroupGID changes a group's gid.
func SetGroupGID(ctx context.Context, name string, gid int) error {
	return Run(ctx, "groupmod", "-g", strconv.Itoa(gid), name)
}

// SetMembers replaces a group's member list.
func SetMembers(ctx context.Context, name string, members []string) error {
	return Run(ctx, "gpasswd", "-M", strings.Join(members, ","), name)
}

// DeleteGroup removes a group.
func DeleteGroup(ctx context.Context, name string) error {
	return Run(ctx, "groupdel", name)
}
