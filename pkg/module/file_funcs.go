package module

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/brine-project/brine/pkg/fileperm"
)

// The file.* execution functions. Paths must be absolute after "~"
// expansion, since a relative path would depend on the minion's working
// directory. Functions that write fail with an error (retcode 1) where Salt
// raises CommandExecutionError.

func pathArg(name string) Arg {
	return Arg{Name: name, Kind: String, Required: true, Doc: "absolute path (~ and ~user are expanded)"}
}

func init() {
	reg := func(name, doc string, args []Arg, run func(ctx context.Context, a *Args) (any, error)) {
		Default.Register(&Func{Name: name, Doc: doc, Args: args,
			Run: func(ctx context.Context, _ *Env, a *Args) (any, error) { return run(ctx, a) }})
	}
	reg("file.read", "Return the contents of a file (base64 with binary=True).",
		[]Arg{pathArg("path"), {Name: "binary", Kind: Bool, Default: false, Doc: "return the bytes base64-encoded"}}, fileRead)
	Default.Register(&Func{
		Name: "file.write",
		Doc: "Write lines to a file, replacing it: each positional argument after path (or each element of args) " +
			"is one line, each followed by a newline. content= writes a string as is instead.",
		Args: []Arg{
			pathArg("path"),
			{Name: "args", Kind: Any, KwOnly: true, Doc: "the lines, as a list (or one string)"},
			{Name: "content", Kind: String, KwOnly: true, Doc: "text written as is, instead of lines"},
		},
		Varargs: true,
		Run:     func(_ context.Context, _ *Env, a *Args) (any, error) { return fileWrite(a) },
	})
	reg("file.exists", "Return whether the path exists (following symlinks).", []Arg{pathArg("path")},
		func(_ context.Context, a *Args) (any, error) {
			return statIs(a, func(fs.FileInfo) bool { return true })
		})
	reg("file.file_exists", "Return whether the path is an existing regular file.", []Arg{pathArg("path")},
		func(_ context.Context, a *Args) (any, error) {
			return statIs(a, func(st fs.FileInfo) bool { return st.Mode().IsRegular() })
		})
	reg("file.directory_exists", "Return whether the path is an existing directory.", []Arg{pathArg("path")},
		func(_ context.Context, a *Args) (any, error) { return statIs(a, fs.FileInfo.IsDir) })
	reg("file.remove", "Remove a file, a symlink or a directory tree. Returns False when nothing was there.",
		[]Arg{pathArg("path"), {Name: "force", Kind: Bool, Default: false, Doc: "accepted for Salt compatibility"}}, fileRemove)
	reg("file.stats", "Return {inode, uid, gid, user, group, target, mode, size, atime, mtime, ctime, type} of a path, "+
		"plus sum with hash_type.",
		[]Arg{pathArg("path"),
			{Name: "hash_type", Kind: String, Doc: "also return the checksum: md5, sha1, sha256 or sha512"},
			{Name: "follow_symlinks", Kind: Bool, Default: true, Doc: "describe the symlink's target rather than the link"}},
		fileStats)
	reg("file.get_hash", "Return the hex checksum of a file.",
		[]Arg{pathArg("path"),
			{Name: "form", Kind: String, Default: "sha256", Doc: "md5, sha1, sha256 or sha512"},
			{Name: "chunk_size", Kind: Int, Default: int64(65536), Doc: "read size in bytes"}},
		fileGetHash)
	reg("file.mkdir", "Create a directory and its missing parents, with the given owner and mode. Returns True.",
		[]Arg{pathArg("dir_path"),
			{Name: "user", Kind: String, Doc: "owner of the created directories"},
			{Name: "group", Kind: String, Doc: "group of the created directories"},
			{Name: "mode", Kind: Any, Doc: "octal mode such as \"0755\""}},
		fileMkdir)
	reg("file.touch", "Create the file if missing and set its access and modification times (default now). Returns True.",
		[]Arg{pathArg("name"),
			{Name: "atime", Kind: Int, Doc: "access time, seconds since the epoch"},
			{Name: "mtime", Kind: Int, Doc: "modification time, seconds since the epoch"}},
		fileTouch)
	reg("file.chown", "Change the owner and group of a path (an empty user or group is left unchanged). Returns None.",
		[]Arg{pathArg("path"),
			{Name: "user", Kind: String, Required: true, Doc: "user name or uid"},
			{Name: "group", Kind: String, Required: true, Doc: "group name or gid"}},
		fileChown)
	reg("file.get_mode", "Return the mode of a path as an octal string such as \"0644\".",
		[]Arg{pathArg("path"), {Name: "follow_symlinks", Kind: Bool, Default: true, Doc: "mode of the symlink's target"}},
		func(_ context.Context, a *Args) (any, error) {
			p, err := absPath("file.get_mode", "path", a.String("path"))
			if err != nil {
				return nil, err
			}
			st, err := statPath(p, a.Bool("follow_symlinks"))
			if err != nil {
				return nil, fmt.Errorf("module: file.get_mode: %w", err)
			}
			return fileperm.String(st.Mode()), nil
		})
	reg("file.set_mode", "Set the mode of a path; returns the new mode as an octal string.",
		[]Arg{pathArg("path"), {Name: "mode", Kind: Any, Required: true, Doc: "octal mode such as \"0644\""}},
		fileSetMode)
}

// expandUser expands a leading "~" or "~user".
func expandUser(p string) (string, error) {
	if !strings.HasPrefix(p, "~") {
		return p, nil
	}
	name, rest, _ := strings.Cut(p[1:], "/")
	var home string
	if name == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		home = h
	} else {
		u, err := lookupUser(name)
		if err != nil {
			return "", err
		}
		home = u.HomeDir
	}
	if rest == "" {
		return home, nil
	}
	return home + "/" + rest, nil
}

func absPath(fun, arg, p string) (string, error) {
	x, err := expandUser(p)
	if err != nil {
		return "", badArg(fun, arg, "cannot expand %q: %v", p, err)
	}
	if !strings.HasPrefix(x, "/") {
		return "", badArg(fun, arg, "path must be absolute: %q", p)
	}
	return x, nil
}

func statPath(p string, follow bool) (fs.FileInfo, error) {
	if follow {
		return os.Stat(p)
	}
	return os.Lstat(p)
}

func fileRead(_ context.Context, a *Args) (any, error) {
	p, err := absPath("file.read", "path", a.String("path"))
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("module: file.read: %w", err)
	}
	if a.Bool("binary") {
		return base64.StdEncoding.EncodeToString(b), nil
	}
	return string(b), nil
}

func fileWrite(a *Args) (any, error) {
	p, err := absPath("file.write", "path", a.String("path"))
	if err != nil {
		return nil, err
	}
	lines := a.Extra
	switch v := a.Get("args").(type) {
	case nil:
	case []any:
		lines = append(lines, v...)
	default:
		lines = append(lines, v)
	}
	var data string
	n := len(lines)
	if a.Has("content") {
		if len(lines) > 0 {
			return nil, badArg("file.write", "content", "give either content or lines, not both")
		}
		data = a.String("content")
		n = strings.Count(data, "\n")
		if data != "" && !strings.HasSuffix(data, "\n") {
			n++
		}
	} else {
		var b strings.Builder
		for _, l := range lines {
			b.WriteString(pyText(l))
			b.WriteByte('\n')
		}
		data = b.String()
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		return nil, fmt.Errorf("module: file.write: %w", err)
	}
	return fmt.Sprintf("Wrote %d lines to %q", n, p), nil
}

// pyText is how Salt formats a line given to file.write ("{}".format(x)).
func pyText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func statIs(a *Args, pred func(fs.FileInfo) bool) (any, error) {
	p, err := expandUser(a.String("path"))
	if err != nil {
		return false, nil //nolint:nilerr // an unknown ~user means the path does not exist
	}
	st, err := os.Stat(p)
	if err != nil {
		return false, nil //nolint:nilerr // existence checks answer false, as Salt's do
	}
	return pred(st), nil
}

func fileRemove(_ context.Context, a *Args) (any, error) {
	p, err := absPath("file.remove", "path", a.String("path"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err := os.RemoveAll(p); err != nil {
		return nil, fmt.Errorf("module: file.remove: could not remove %q: %w", p, err)
	}
	return true, nil
}

func newHash(fun, form string) (hash.Hash, error) {
	switch strings.ToLower(form) {
	case "md5":
		return md5.New(), nil
	case "sha1":
		return sha1.New(), nil
	case "sha224":
		return sha256.New224(), nil
	case "sha256":
		return sha256.New(), nil
	case "sha384":
		return sha512.New384(), nil
	case "sha512":
		return sha512.New(), nil
	}
	return nil, badArg(fun, "form", "unknown hash type %q (want md5, sha1, sha224, sha256, sha384 or sha512)", form)
}

// HashFile returns the hex digest of a file's contents with form (md5,
// sha1, sha224, sha256, sha384, sha512).
func HashFile(path, form string, chunk int) (string, error) {
	h, err := newHash("file.get_hash", form)
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("module: hash: %w", err)
	}
	defer f.Close()
	if chunk <= 0 {
		chunk = 65536
	}
	if _, err := io.CopyBuffer(h, f, make([]byte, chunk)); err != nil {
		return "", fmt.Errorf("module: hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fileGetHash(_ context.Context, a *Args) (any, error) {
	p, err := absPath("file.get_hash", "path", a.String("path"))
	if err != nil {
		return nil, err
	}
	if a.Int("chunk_size") < 0 {
		return nil, badArg("file.get_hash", "chunk_size", "must be positive")
	}
	if _, err := newHash("file.get_hash", a.String("form")); err != nil {
		return nil, err
	}
	return HashFile(p, a.String("form"), int(min(a.Int("chunk_size"), 16<<20)))
}

func fileTouch(_ context.Context, a *Args) (any, error) {
	p, err := absPath("file.touch", "name", a.String("name"))
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("module: file.touch: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("module: file.touch: %w", err)
	}
	now := time.Now()
	at, mt := now, now
	if a.Has("atime") {
		at = time.Unix(a.Int("atime"), 0)
	}
	if a.Has("mtime") {
		mt = time.Unix(a.Int("mtime"), 0)
	}
	if err := os.Chtimes(p, at, mt); err != nil {
		return nil, fmt.Errorf("module: file.touch: %w", err)
	}
	return true, nil
}
