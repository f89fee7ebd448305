package module

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/brine-project/brine/pkg/fileperm"
)

func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		return u.Username
	}
	return strconv.FormatUint(uint64(uid), 10)
}

func groupName(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		return g.Name
	}
	return strconv.FormatUint(uint64(gid), 10)
}

// UID resolves a user name or numeric uid; "" means unchanged (-1).
func UID(name string) (int, error) {
	if name == "" {
		return -1, nil
	}
	u, err := lookupUser(name)
	if err != nil {
		return 0, fmt.Errorf("user %q does not exist: %w", name, err)
	}
	return strconv.Atoi(u.Uid)
}

// GID resolves a group name or numeric gid; "" means unchanged (-1).
func GID(name string) (int, error) {
	if name == "" {
		return -1, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr != nil {
			return 0, fmt.Errorf("group %q does not exist: %w", name, err)
		}
		if g, err = user.LookupGroupId(name); err != nil {
			return 0, fmt.Errorf("group %q does not exist: %w", name, err)
		}
	}
	return strconv.Atoi(g.Gid)
}

func fileType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "link"
	case m&fs.ModeNamedPipe != 0:
		return "pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "char"
	case m&fs.ModeDevice != 0:
		return "block"
	}
	return "file"
}

func unixSeconds(ts syscall.Timespec) float64 {
	return float64(ts.Sec) + float64(ts.Nsec)/1e9
}

func fileStats(_ context.Context, a *Args) (any, error) {
	p, err := absPath("file.stats", "path", a.String("path"))
	if err != nil {
		return nil, err
	}
	st, err := statPath(p, a.Bool("follow_symlinks"))
	if err != nil {
		return nil, fmt.Errorf("module: file.stats: path not found: %s: %w", p, err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("module: file.stats: no stat data for %s", p)
	}
	tgt, err := filepath.EvalSymlinks(p)
	if err != nil {
		tgt = p // a dangling link described with follow_symlinks=False
	}
	ret := map[string]any{
		"inode":  sys.Ino,
		"uid":    sys.Uid,
		"gid":    sys.Gid,
		"user":   userName(sys.Uid),
		"group":  groupName(sys.Gid),
		"target": tgt,
		"mode":   fileperm.String(st.Mode()),
		"size":   st.Size(),
		"atime":  unixSeconds(sys.Atim),
		"mtime":  unixSeconds(sys.Mtim),
		"ctime":  unixSeconds(sys.Ctim),
		"type":   fileType(st.Mode()),
	}
	if ht := a.String("hash_type"); ht != "" {
		if _, err := newHash("file.stats", ht); err != nil {
			return nil, badArg("file.stats", "hash_type", "unknown hash type %q", ht)
		}
		if st.Mode().IsRegular() {
			sum, err := HashFile(p, ht, 0)
			if err != nil {
				return nil, err
			}
			ret["sum"] = sum
		}
	}
	return ret, nil
}

func fileMkdir(_ context.Context, a *Args) (any, error) {
	p, err := absPath("file.mkdir", "dir_path", a.String("dir_path"))
	if err != nil {
		return nil, err
	}
	p = filepath.Clean(p)
	mode := fs.FileMode(0o755)
	if a.Get("mode") != nil {
		if mode, err = fileperm.Parse(a.Get("mode")); err != nil {
			return nil, badArg("file.mkdir", "mode", "%v", err)
		}
	}
	uid, err := UID(a.String("user"))
	if err != nil {
		return nil, badArg("file.mkdir", "user", "%v", err)
	}
	gid, err := GID(a.String("group"))
	if err != nil {
		return nil, badArg("file.mkdir", "group", "%v", err)
	}
	// Find the directories that will be created, so only those get the
	// owner and mode (as Salt's makedirs_perms).
	var created []string
	for d := p; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		created = append(created, d)
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return nil, fmt.Errorf("module: file.mkdir: %w", err)
	}
	for i := len(created) - 1; i >= 0; i-- {
		if err := os.Chmod(created[i], mode); err != nil {
			return nil, fmt.Errorf("module: file.mkdir: %w", err)
		}
		if uid != -1 || gid != -1 {
			if err := os.Chown(created[i], uid, gid); err != nil {
				return nil, fmt.Errorf("module: file.mkdir: %w", err)
			}
		}
	}
	return true, nil
}

func fileChown(_ context.Context, a *Args) (any, error) {
	p, err := absPath("file.chown", "path", a.String("path"))
	if err != nil {
		return nil, err
	}
	uid, err := UID(a.String("user"))
	if err != nil {
		return nil, badArg("file.chown", "user", "%v", err)
	}
	gid, err := GID(a.String("group"))
	if err != nil {
		return nil, badArg("file.chown", "group", "%v", err)
	}
	if err := os.Chown(p, uid, gid); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("module: file.chown: path not found: %s", p)
		}
		return nil, fmt.Errorf("module: file.chown: %w", err)
	}
	return nil, nil
}

func fileSetMode(_ context.Context, a *Args) (any, error) {
	p, err := absPath("file.set_mode", "path", a.String("path"))
	if err != nil {
		return nil, err
	}
	mode, err := fileperm.Parse(a.Get("mode"))
	if err != nil {
		return nil, badArg("file.set_mode", "mode", "%v", err)
	}
	if err := os.Chmod(p, mode); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("module: file.set_mode: %s: file not found", p)
		}
		return nil, fmt.Errorf("module: file.set_mode: %w", err)
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("module: file.set_mode: %w", err)
	}
	return fileperm.String(st.Mode()), nil
}
