package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

func init() {
	Default.Register(&Func{
		Name: "file.directory",
		Doc:  "Ensure a directory exists with ownership and mode, optionally recursively and cleaned.",
		Args: []Arg{
			{Name: "user", Kind: String}, {Name: "group", Kind: String},
			{Name: "dir_mode", Kind: String}, {Name: "mode", Kind: String, Doc: "alias of dir_mode"},
			{Name: "file_mode", Kind: String}, {Name: "makedirs", Kind: Bool, Default: false},
			{Name: "clean", Kind: Bool, Default: false}, {Name: "recurse", Kind: List},
			{Name: "exclude_pat", Kind: String},
		},
		Run: fileDirectory,
	})
	Default.Register(&Func{Name: "file.absent", Doc: "Remove a file, symlink or directory tree.", Run: fileAbsent})
	Default.Register(&Func{
		Name: "file.symlink",
		Doc:  "Ensure a symlink points at target.",
		Args: []Arg{
			{Name: "target", Kind: String, Required: true}, {Name: "force", Kind: Bool, Default: false},
			{Name: "makedirs", Kind: Bool, Default: false}, {Name: "user", Kind: String}, {Name: "group", Kind: String},
			{Name: "mode", Kind: String},
		},
		Run: fileSymlink,
	})
}

func absOrFail(name string) (Ret, bool) {
	if !filepath.IsAbs(name) {
		return Ret{Result: False, Comment: fmt.Sprintf("Specified file %s is not an absolute path", name)}, false
	}
	return Ret{}, true
}

func fileDirectory(_ context.Context, c *Call) Ret {
	name := filepath.Clean(c.Name)
	if r, ok := absOrFail(name); !ok {
		return r
	}
	a := c.Args
	modeKey := "dir_mode"
	if !a.Has("dir_mode") && a.Has("mode") {
		modeKey = "mode"
	}
	dp, err := specPerms(a, modeKey)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if err := checkPerms(dp); err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	ch := map[string]any{}
	fi, err := os.Stat(name)
	switch {
	case err == nil && !fi.IsDir():
		return Ret{Result: False, Comment: fmt.Sprintf("Specified location %s exists and is a file", name)}
	case os.IsNotExist(err):
		if _, perr := os.Stat(filepath.Dir(name)); perr != nil && !a.Bool("makedirs") && !c.Test {
			return Ret{Result: False, Comment: fmt.Sprintf("No directory to create %s in", name)}
		}
		ch[name] = "New Dir"
		if !c.Test {
			mode := dp.mode
			if !dp.hasMode {
				mode = 0o755
			}
			if err := mkdirs(name, mode, dp); err != nil {
				return Ret{Result: False, Comment: fmt.Sprintf("Failed to create directory %s: %v", name, err)}
			}
		}
	case err != nil:
		return Ret{Result: False, Comment: err.Error()}
	}
	if _, isNew := ch[name]; !isNew || !c.Test {
		pc, err := permChanges(name, dp)
		if err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		for k, v := range pc {
			ch[k] = v
		}
		if !c.Test {
			if err := applyPerms(name, dp); err != nil {
				return Ret{Result: False, Comment: err.Error()}
			}
		}
	}
	if _, isNew := ch[name]; isNew {
		// A new directory reports only "New Dir".
		ch = map[string]any{name: "New Dir"}
	}
	if rec := a.Strings("recurse"); len(rec) > 0 {
		rc, err := recursePerms(c, name, rec, a)
		if err != nil {
			return Ret{Result: False, Comment: err.Error(), Changes: ch}
		}
		if len(rc) > 0 {
			ch["recursion"] = rc
		}
	}
	if a.Bool("clean") {
		keep := map[string]bool{name: true}
		for _, r := range c.Requires {
			if r.Module != "file" {
				continue
			}
			p := filepath.Clean(r.Name)
			for d := p; strings.HasPrefix(d, name) && d != "/"; d = filepath.Dir(d) {
				keep[d] = true
			}
			keep[p+string(filepath.Separator)+"*"] = true
		}
		if ex := a.String("exclude_pat"); ex != "" {
			// exclude_pat protects matching files from clean, as in Salt.
			filepath.WalkDir(name, func(p string, _ fs.DirEntry, err error) error {
				if err == nil && p != name && !patAllows(strings.TrimPrefix(p, name+"/"), "", ex) {
					keep[p] = true
					keep[p+string(filepath.Separator)+"*"] = true
					for d := filepath.Dir(p); d != name && d != "/"; d = filepath.Dir(d) {
						keep[d] = true
					}
				}
				return nil
			})
		}
		removed, err := cleanDir(name, keep, c.Test)
		if err != nil {
			return Ret{Result: False, Comment: err.Error(), Changes: ch}
		}
		if len(removed) > 0 {
			l := make([]any, len(removed))
			for i, r := range removed {
				l[i] = r
			}
			ch["removed"] = l
		}
	}
	return fileRet(c, ch, fmt.Sprintf("The directory %s is set to be changed", name),
		fmt.Sprintf("Directory %s updated", name), fmt.Sprintf("The directory %s is in the correct state", name))
}

// recursePerms applies user, group and mode below dir, as recurse: [user,
// group, mode, ignore_files, ignore_dirs] asks.
func recursePerms(c *Call, dir string, rec []string, a *Args) (map[string]any, error) {
	want := map[string]bool{}
	for _, r := range rec {
		switch r {
		case "user", "group", "mode", "ignore_files", "ignore_dirs", "silent":
			want[r] = true
		default:
			return nil, fmt.Errorf("types for recurse must be one of user, group, mode, ignore_files, ignore_dirs, silent; got %q", r)
		}
	}
	var fp, dp perms
	if want["user"] {
		fp.user, dp.user = a.String("user"), a.String("user")
	}
	if want["group"] {
		fp.group, dp.group = a.String("group"), a.String("group")
	}
	if want["mode"] {
		var err error
		if fp.mode, fp.hasMode, err = parseMode(a.Get("file_mode")); err != nil {
			return nil, err
		}
		key := "dir_mode"
		if !a.Has(key) {
			key = "mode"
		}
		if dp.mode, dp.hasMode, err = parseMode(a.Get(key)); err != nil {
			return nil, err
		}
	}
	out := map[string]any{}
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if p == dir && errors.Is(err, fs.ErrNotExist) && c.Test {
			return nil // test=True: the directory would be created empty
		}
		if err != nil || p == dir {
			return err
		}
		if de.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		if ex := a.String("exclude_pat"); ex != "" && !patAllows(strings.TrimPrefix(p, dir+"/"), "", ex) {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		pp := fp
		if de.IsDir() {
			if want["ignore_dirs"] {
				return nil
			}
			pp = dp
		} else if want["ignore_files"] {
			return nil
		}
		ch, err := permChanges(p, pp)
		if err != nil || len(ch) == 0 {
			return err
		}
		if !want["silent"] {
			out[p] = ch
		}
		if c.Test {
			return nil
		}
		return applyPerms(p, pp)
	})
	return out, err
}

// cleanDir removes everything under dir that keep does not hold (a path,
// or "path/*" to keep a whole subtree); it returns what was (or in test
// mode would be) removed.
func cleanDir(dir string, keep map[string]bool, test bool) ([]string, error) {
	var removed []string
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if p == dir && errors.Is(err, fs.ErrNotExist) && test {
			return nil // test=True: the directory would be created empty
		}
		if err != nil || p == dir {
			return err
		}
		for d := filepath.Dir(p); d != dir && d != "/"; d = filepath.Dir(d) {
			if keep[d+string(filepath.Separator)+"*"] {
				return nil
			}
		}
		if keep[p] {
			return nil
		}
		removed = append(removed, p)
		if de.IsDir() {
			if !test {
				if err := os.RemoveAll(p); err != nil {
					return err
				}
			}
			return filepath.SkipDir
		}
		if !test {
			return os.Remove(p)
		}
		return nil
	})
	sort.Strings(removed)
	return removed, err
}

func regexpMatch(re, s string) bool {
	r, err := regexp.Compile(re)
	return err == nil && r.MatchString(s)
}

func fileAbsent(_ context.Context, c *Call) Ret {
	name := filepath.Clean(c.Name)
	if r, ok := absOrFail(name); !ok {
		return r
	}
	if name == "/" {
		return Ret{Result: False, Comment: "Refusing to make \"/\" absent"}
	}
	fi, err := os.Lstat(name)
	if os.IsNotExist(err) {
		return Ret{Result: True, Comment: fmt.Sprintf("File %s is not present", name)}
	}
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	kind := "file"
	if fi.IsDir() {
		kind = "directory"
	}
	ch := map[string]any{"removed": name}
	if c.Test {
		return Ret{Result: None, Changes: ch, Comment: fmt.Sprintf("%s %s is set for removal", strings.ToUpper(kind[:1])+kind[1:], name)}
	}
	if err := os.RemoveAll(name); err != nil {
		return Ret{Result: False, Comment: fmt.Sprintf("Failed to remove %s %s: %v", kind, name, err)}
	}
	return Ret{Result: True, Changes: ch, Comment: fmt.Sprintf("Removed %s %s", kind, name)}
}

func fileSymlink(_ context.Context, c *Call) Ret {
	name := filepath.Clean(c.Name)
	if r, ok := absOrFail(name); !ok {
		return r
	}
	a := c.Args
	target := a.String("target")
	p := perms{user: a.String("user"), group: a.String("group")}
	if err := checkPerms(p); err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if _, err := os.Stat(filepath.Dir(name)); err != nil && !a.Bool("makedirs") && !c.Test {
		return Ret{Result: False, Comment: fmt.Sprintf("Directory %s for symlink is not present", filepath.Dir(name))}
	}
	ch := map[string]any{}
	var comment string
	fi, err := os.Lstat(name)
	replace := false
	switch {
	case os.IsNotExist(err):
		ch["new"] = name
		comment = fmt.Sprintf("Created new symlink %s -> %s", name, target)
	case err != nil:
		return Ret{Result: False, Comment: err.Error()}
	case fi.Mode()&os.ModeSymlink != 0:
		cur, _ := os.Readlink(name)
		if cur != target {
			ch["change"] = name
			replace = true
			comment = fmt.Sprintf("Set symlink %s to point to %s", name, target)
		}
	default:
		what := "File"
		if fi.IsDir() {
			what = "Directory"
		}
		if !a.Bool("force") {
			return Ret{Result: False, Comment: fmt.Sprintf("%s exists where the symlink %s should be", what, name)}
		}
		ch["forced"] = "Symlink was forcibly replaced"
		replace = true
		comment = fmt.Sprintf("Created new symlink %s -> %s", name, target)
	}
	if fi != nil && len(ch) == 0 {
		pc, err := permChanges(name, p)
		if err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		for k, v := range pc {
			ch[k] = v
		}
		comment = fmt.Sprintf("Symlink %s is present and owned by the right user", name)
	}
	if len(ch) == 0 {
		return Ret{Result: True, Comment: fmt.Sprintf("Symlink %s is present", name)}
	}
	if c.Test {
		return Ret{Result: None, Changes: ch, Comment: fmt.Sprintf("Symlink %s to %s is set for creation", name, target)}
	}
	if a.Bool("makedirs") {
		if err := mkdirs(filepath.Dir(name), 0o755, perms{}); err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
	}
	if replace {
		if err := os.RemoveAll(name); err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
	}
	if _, isPerm := ch["new"]; isPerm || replace {
		if err := os.Symlink(target, name); err != nil {
			return Ret{Result: False, Comment: fmt.Sprintf("Unable to create new symlink %s -> %s: %v", name, target, err)}
		}
	}
	if err := applyPerms(name, p); err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	return Ret{Result: True, Changes: ch, Comment: comment}
}
