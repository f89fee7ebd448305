package module

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/brine-project/brine/pkg/render"
)

// FileClient is the minion's access to the master's file server: it caches
// salt:// files locally, downloading only what changed
// (*fileserver.Cache implements it). The cp.* functions find it on
// Env.Runtime, which either implements it or has a FileClient method.
type FileClient interface {
	// GetFile caches salt://path of env and returns the local copy's path.
	GetFile(ctx context.Context, url, env string) (string, error)
	// GetDir caches every file under a salt:// directory.
	GetDir(ctx context.Context, url, env string) ([]string, error)
	// ListMaster lists the master's files of env starting with prefix.
	ListMaster(ctx context.Context, env, prefix string) ([]string, error)
	// HashFile returns the master's sha256 of salt://path.
	HashFile(ctx context.Context, url, env string) (string, error)
}

// FileClientProvider is the other way a Runtime may offer a FileClient.
type FileClientProvider interface {
	FileClient() FileClient
}

// ErrNoFileClient is returned by cp.* when the minion has no file client.
var ErrNoFileClient = errors.New("module: no file client on this minion")

func fileClientOf(env *Env, fun string) (FileClient, error) {
	switch rt := env.Runtime.(type) {
	case FileClient:
		return rt, nil
	case FileClientProvider:
		if fc := rt.FileClient(); fc != nil {
			return fc, nil
		}
	}
	return nil, fmt.Errorf("%w: %s needs the master's file server", ErrNoFileClient, fun)
}

// notFound reports whether err means the master has no such file (a
// FileClient wraps fs.ErrNotExist then); Salt's cp functions return ""
// instead of failing.
func notFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist)
}

func init() {
	saltenv := Arg{Name: "saltenv", Kind: String, Default: "base", Doc: "file server environment"}
	template := Arg{Name: "template", Kind: String, Doc: "render the file with this engine (jinja or django) before writing"}
	Default.Register(&Func{
		Name: "cp.get_file",
		Doc: "Copy salt://path from the master to dest (a file, or a directory ending in /). " +
			"Returns dest, or \"\" when the master has no such file.",
		Args: []Arg{
			{Name: "path", Kind: String, Required: true, Doc: "salt:// URL"},
			{Name: "dest", Kind: String, Required: true, Doc: "local destination"},
			saltenv,
			{Name: "makedirs", Kind: Bool, Default: false, Doc: "create dest's parent directories"},
			template,
			{Name: "gzip", Kind: Any, Doc: "accepted for Salt compatibility"},
		},
		Run: cpGetFile,
	})
	Default.Register(&Func{
		Name: "cp.get_dir",
		Doc:  "Copy the salt:// directory path into dest (as dest/<dirname>/...). Returns the files written.",
		Args: []Arg{
			{Name: "path", Kind: String, Required: true, Doc: "salt:// URL of a directory"},
			{Name: "dest", Kind: String, Required: true, Doc: "local destination directory"},
			saltenv, template,
			{Name: "gzip", Kind: Any, Doc: "accepted for Salt compatibility"},
		},
		Run: cpGetDir,
	})
	Default.Register(&Func{
		Name: "cp.cache_file",
		Doc:  "Cache salt://path in the minion's file cache and return the local path, or \"\" when it does not exist.",
		Args: []Arg{
			{Name: "path", Kind: String, Required: true, Doc: "salt:// URL"},
			saltenv,
			{Name: "source_hash", Kind: String, Doc: "accepted for Salt compatibility: salt:// files are always verified by hash"},
		},
		Run: func(ctx context.Context, env *Env, a *Args) (any, error) {
			fc, err := fileClientOf(env, "cp.cache_file")
			if err != nil {
				return nil, err
			}
			if err := saltURL("cp.cache_file", a.String("path")); err != nil {
				return nil, err
			}
			local, err := fc.GetFile(ctx, a.String("path"), a.String("saltenv"))
			if err != nil {
				if notFound(err) {
					return "", nil
				}
				return nil, fmt.Errorf("module: cp.cache_file: %w", err)
			}
			return local, nil
		},
	})
	Default.Register(&Func{
		Name: "cp.list_master",
		Doc:  "List the master's files in saltenv, optionally only those starting with prefix.",
		Args: []Arg{saltenv, {Name: "prefix", Kind: String, Default: "", Doc: "path prefix"}},
		Run: func(ctx context.Context, env *Env, a *Args) (any, error) {
			fc, err := fileClientOf(env, "cp.list_master")
			if err != nil {
				return nil, err
			}
			files, err := fc.ListMaster(ctx, a.String("saltenv"), a.String("prefix"))
			if err != nil {
				return nil, fmt.Errorf("module: cp.list_master: %w", err)
			}
			if files == nil {
				files = []string{}
			}
			return files, nil
		},
	})
	Default.Register(&Func{
		Name: "cp.hash_file",
		Doc:  "Return {hash_type, hsum} of salt://path on the master, or of a local file for a plain path.",
		Args: []Arg{{Name: "path", Kind: String, Required: true, Doc: "salt:// URL or local path"}, saltenv},
		Run: func(ctx context.Context, env *Env, a *Args) (any, error) {
			p := a.String("path")
			if !strings.HasPrefix(p, "salt://") {
				sum, err := HashFile(p, "sha256", 0)
				if err != nil {
					return nil, fmt.Errorf("module: cp.hash_file: %w", err)
				}
				return map[string]any{"hash_type": "sha256", "hsum": sum}, nil
			}
			fc, err := fileClientOf(env, "cp.hash_file")
			if err != nil {
				return nil, err
			}
			sum, err := fc.HashFile(ctx, p, a.String("saltenv"))
			if err != nil {
				if notFound(err) {
					return "", nil
				}
				return nil, fmt.Errorf("module: cp.hash_file: %w", err)
			}
			return map[string]any{"hash_type": "sha256", "hsum": sum}, nil
		},
	})
}

func saltURL(fun, p string) error {
	if !strings.HasPrefix(p, "salt://") {
		return badArg(fun, "path", "only salt:// URLs are supported, got %q", p)
	}
	return nil
}

func cpGetFile(ctx context.Context, env *Env, a *Args) (any, error) {
	const fun = "cp.get_file"
	fc, err := fileClientOf(env, fun)
	if err != nil {
		return nil, err
	}
	src := a.String("path")
	if err := saltURL(fun, src); err != nil {
		return nil, err
	}
	local, err := fc.GetFile(ctx, src, a.String("saltenv"))
	if err != nil {
		if notFound(err) {
			return "", nil
		}
		return nil, fmt.Errorf("module: %s: %w", fun, err)
	}
	dest, err := absPath(fun, "dest", a.String("dest"))
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dest); strings.HasSuffix(a.String("dest"), "/") || err == nil && st.IsDir() {
		dest = filepath.Join(dest, path.Base(strings.SplitN(src, "?", 2)[0]))
	}
	if a.Bool("makedirs") {
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			return nil, fmt.Errorf("module: %s: %w", fun, err)
		}
	}
	if err := copyCached(ctx, env, local, dest, src, a.String("saltenv"), a.String("template")); err != nil {
		return nil, fmt.Errorf("module: %s: %w", fun, err)
	}
	return dest, nil
}

func cpGetDir(ctx context.Context, env *Env, a *Args) (any, error) {
	const fun = "cp.get_dir"
	fc, err := fileClientOf(env, fun)
	if err != nil {
		return nil, err
	}
	src := strings.TrimSuffix(strings.SplitN(a.String("path"), "?", 2)[0], "/")
	if err := saltURL(fun, src); err != nil {
		return nil, err
	}
	saltenvName := a.String("saltenv")
	dest, err := absPath(fun, "dest", a.String("dest"))
	if err != nil {
		return nil, err
	}
	rel := strings.TrimPrefix(src, "salt://")
	files, err := fc.ListMaster(ctx, saltenvName, rel+"/")
	if err != nil {
		return nil, fmt.Errorf("module: %s: %w", fun, err)
	}
	out := []string{}
	parent := path.Dir(rel)
	for _, f := range files {
		local, err := fc.GetFile(ctx, "salt://"+f, saltenvName)
		if err != nil {
			return out, fmt.Errorf("module: %s: %w", fun, err)
		}
		// salt://a/b/c.txt with path salt://a/b lands in dest/b/c.txt.
		sub := f
		if parent != "." {
			sub = strings.TrimPrefix(f, parent+"/")
		}
		target := filepath.Join(dest, filepath.FromSlash(sub))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return out, fmt.Errorf("module: %s: %w", fun, err)
		}
		if err := copyCached(ctx, env, local, target, "salt://"+f, saltenvName, a.String("template")); err != nil {
			return out, fmt.Errorf("module: %s: %w", fun, err)
		}
		out = append(out, target)
	}
	return out, nil
}

// copyCached writes the cached file to dest, rendered first if template is
// set.
func copyCached(ctx context.Context, env *Env, local, dest, url, saltenv, template string) error {
	data, err := os.ReadFile(local)
	if err != nil {
		return err
	}
	if template != "" {
		text, err := render.RenderText(ctx, strings.TrimPrefix(url, "salt://"), data, render.Context{
			Salt:    TemplateCaller(env),
			Grains:  env.Grains,
			Pillar:  env.Pillar,
			Opts:    env.Opts,
			Saltenv: saltenv,
		}, fileLoader{env: env, saltenv: saltenv}, template)
		if err != nil {
			return err
		}
		data = []byte(text)
	}
	tmp := dest + ".brine-tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// TemplateCaller returns the render.Caller that templates rendered for env
// use for salt['mod.fun'](...): the registry env runs in (Default when
// unset), with env's grains, pillar and runtime.
func TemplateCaller(env *Env) render.Caller { return registryCaller{env: env} }

type registryCaller struct{ env *Env }

func (c registryCaller) Call(ctx context.Context, fun string, args []any, kwargs map[string]any) (any, error) {
	r := c.env.Registry
	if r == nil {
		r = Default
	}
	return r.Call(ctx, c.env, fun, args, kwargs)
}

// fileLoader serves include/import in templates from the master through
// the file client.
type fileLoader struct {
	env     *Env
	saltenv string
}

func (l fileLoader) Load(ctx context.Context, p string) ([]byte, error) {
	fc, err := fileClientOf(l.env, "template")
	if err != nil {
		return nil, err
	}
	local, err := fc.GetFile(ctx, "salt://"+p, l.saltenv)
	if err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("%w: %w", render.ErrNotFound, err)
		}
		return nil, err
	}
	return os.ReadFile(local)
}
