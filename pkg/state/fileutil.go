package state

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/brine-project/brine/pkg/fileperm"
)

// parseMode reads a Salt mode: "0644", "644", 644 (digits as written).
func parseMode(v any) (os.FileMode, bool, error) {
	if v == nil {
		return 0, false, nil
	}
	s := strings.TrimSpace(scalarString(v))
	if s == "" {
		return 0, false, nil
	}
	m, err := fileperm.Parse(s)
	if err != nil {
		return 0, false, err
	}
	return m, true, nil
}

func lookupUID(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("user %s is not available", name)
	}
	return strconv.Atoi(u.Uid)
}

func lookupGID(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("group %s is not available", name)
	}
	return strconv.Atoi(g.Gid)
}

// perms is the ownership and mode a state wants for a path.
type perms struct {
	user, group string
	mode        os.FileMode
	hasMode     bool
}

// permChanges compares path's ownership and mode with p and returns the
// changes (Salt's keys user, group, mode) and whether anything differs.
func permChanges(path string, p perms) (map[string]any, error) {
	ch := map[string]any{}
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	if p.user != "" {
		uid, err := lookupUID(p.user)
		if err != nil {
			return nil, err
		}
		if st != nil && int(st.Uid) != uid {
			ch["user"] = p.user
		}
	}
	if p.group != "" {
		gid, err := lookupGID(p.group)
		if err != nil {
			return nil, err
		}
		if st != nil && int(st.Gid) != gid {
			ch["group"] = p.group
		}
	}
	if p.hasMode && fi.Mode()&os.ModeSymlink == 0 {
		cur := fi.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
		if cur != p.mode {
			ch["mode"] = fileperm.String(p.mode)
		}
	}
	return ch, nil
}

// checkPerms validates that the user and group exist (so test=True reports
// a bad owner before anything happens).
func checkPerms(p perms) error {
	if p.user != "" {
		if _, err := lookupUID(p.user); err != nil {
			return err
		}
	}
	if p.group != "" {
		if _, err := lookupGID(p.group); err != nil {
			return err
		}
	}
	return nil
}

// applyPerms sets ownership then mode (chown clears setuid bits).
func applyPerms(path string, p perms) error {
	uid, gid := -1, -1
	var err error
	if p.user != "" {
		if uid, err = lookupUID(p.user); err != nil {
			return err
		}
	}
	if p.group != "" {
		if gid, err = lookupGID(p.group); err != nil {
			return err
		}
	}
	if uid >= 0 || gid >= 0 {
		if err := os.Lchown(path, uid, gid); err != nil {
			return err
		}
	}
	if p.hasMode {
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return os.Chmod(path, p.mode)
		}
	}
	return nil
}

// writeAtomic replaces path's content through a temporary file in the same
// directory, keeping the old file's mode and owner when there is one.
func writeAtomic(path string, data []byte, newMode os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".brine-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	mode := newMode
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			_ = os.Chown(tmp.Name(), int(st.Uid), int(st.Gid))
		}
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// backupFile copies path into cacheDir/file_backup (backup: minion).
func backupFile(cacheDir, path string) error {
	if cacheDir == "" {
		cacheDir = filepath.Join(os.TempDir(), "brine-cache")
	}
	dst := filepath.Join(cacheDir, "file_backup", filepath.Dir(path), filepath.Base(path)+"_"+time.Now().UTC().Format("Mon_Jan_02_15:04:05.000000_2006"))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// mkdirs creates dir and its missing parents with mode, applying p to each
// directory created.
func mkdirs(dir string, mode os.FileMode, p perms) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirs(parent, mode, p); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, mode); err != nil && !os.IsExist(err) {
		return err
	}
	if err := os.Chmod(dir, mode); err != nil {
		return err
	}
	pp := p
	pp.hasMode = false
	return applyPerms(dir, pp)
}

func lookupUserGID(name string) (int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(u.Gid)
}
