package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// ErrEscape is returned for a salt:// path that leaves its root.
var ErrEscape = errors.New("state: path escapes the file root")

// DirFiles is a FileClient over local directories (file_roots): for each
// environment, several roots, the first that has a path wins. It is what
// masterless runs use when no file server is wired.
type DirFiles struct {
	Roots map[string][]string
}

// GetFile implements FileClient; the local path is the file in its root.
func (d DirFiles) GetFile(_ context.Context, url, saltenv string) (string, error) {
	rel, err := relPath(url)
	if err != nil {
		return "", err
	}
	for _, root := range d.Roots[saltenv] {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s in saltenv %q", ErrNotFound, url, saltenv)
}

// ListFiles implements FileClient.
func (d DirFiles) ListFiles(_ context.Context, saltenv, prefix string) ([]string, error) {
	prefix = strings.Trim(strings.TrimPrefix(prefix, "salt://"), "/")
	seen := map[string]bool{}
	var out []string
	for _, root := range d.Roots[saltenv] {
		base := filepath.Join(root, filepath.FromSlash(prefix))
		err := filepath.WalkDir(base, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return filepath.SkipDir
				}
				return err
			}
			if de.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if !seen[rel] {
				seen[rel] = true
				out = append(out, rel)
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("state: list %s: %w", prefix, err)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Envs implements EnvLister.
func (d DirFiles) Envs(context.Context) ([]string, error) {
	var out []string
	for e := range d.Roots {
		out = append(out, e)
	}
	sort.Strings(out)
	return out, nil
}

// relPath checks a salt:// URL and returns its clean relative path.
func relPath(url string) (string, error) {
	rel := strings.TrimPrefix(url, "salt://")
	if i := strings.Index(rel, "?"); i >= 0 {
		rel = rel[:i] // ?saltenv=... is handled by the caller
	}
	clean := path.Clean("/" + rel)
	if strings.Contains(rel, "..") && clean != "/"+strings.TrimPrefix(rel, "/") {
		return "", fmt.Errorf("%w: %s", ErrEscape, url)
	}
	return strings.TrimPrefix(clean, "/"), nil
}

// YAMLRenderer renders SLS as plain YAML (keeping key order) and file
// templates only when no engine is asked for. It serves "#!yaml" trees and
// tests; the minion wires pkg/render for Jinja.
type YAMLRenderer struct{}

// RenderSLS implements Renderer.
func (YAMLRenderer) RenderSLS(_ context.Context, src []byte, in RenderInput) (any, error) {
	v, err := DecodeYAML(src)
	if err != nil {
		return nil, fmt.Errorf("state: yaml in %s: %w", in.Source, err)
	}
	return v, nil
}

// RenderTemplate implements Renderer.
func (YAMLRenderer) RenderTemplate(_ context.Context, engine string, src []byte, in RenderInput) (string, error) {
	if engine == "" {
		return string(src), nil
	}
	return "", fmt.Errorf("state: template engine %q is not available in the plain YAML renderer (%s)", engine, in.Source)
}
