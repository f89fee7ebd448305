package state

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func init() {
	Default.Register(&Func{Name: "archive.extracted", Doc: "Extract a tar or zip archive into a directory once.", Args: []Arg{
		{Name: "source", Kind: String, Required: true}, {Name: "source_hash", Kind: String}, {Name: "skip_verify", Kind: Bool, Default: false},
		{Name: "archive_format", Kind: String, Doc: "tar or zip (default from the file name)"},
		{Name: "if_missing", Kind: String, Doc: "extract only when this path does not exist"},
		{Name: "enforce_toplevel", Kind: Bool, Default: true, Doc: "the archive must hold a single top-level directory"},
		{Name: "options", Kind: String, Doc: "extra tar options"}, {Name: "user", Kind: String}, {Name: "group", Kind: String},
		{Name: "overwrite", Kind: Bool, Default: false, Doc: "extract even when every file is present"},
		{Name: "trim_output", Kind: Int, Default: int64(100)},
	}, Run: archiveExtracted})
}

func archiveExtracted(ctx context.Context, c *Call) Ret {
	a := c.Args
	dest := filepath.Clean(c.Name)
	if r, ok := absOrFail(dest); !ok {
		return r
	}
	if im := a.String("if_missing"); im != "" {
		if _, err := os.Stat(im); err == nil {
			return Ret{Result: True, Comment: fmt.Sprintf("Path %s exists", im)}
		}
	}
	src := a.String("source")
	data, _, err := c.fetchSources(ctx, src, a.String("source_hash"), a.Bool("skip_verify"))
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	format := a.String("archive_format")
	if format == "" {
		format = "tar"
		if strings.HasSuffix(strings.ToLower(src), ".zip") {
			format = "zip"
		}
	}
	f, err := os.CreateTemp("", "brine-archive-*")
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return Ret{Result: False, Comment: werr.Error()}
	}
	members, err := archiveMembers(ctx, f.Name(), format)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if a.Bool("enforce_toplevel") {
		tops := map[string]bool{}
		for _, m := range members {
			tops[strings.SplitN(strings.TrimPrefix(m, "./"), "/", 2)[0]] = true
		}
		if len(tops) != 1 {
			return Ret{Result: False, Comment: "Archive does not have a single top-level directory. To allow this archive to be extracted, set \"enforce_toplevel\" to False."}
		}
	}
	var missing []string
	for _, m := range members {
		if _, err := os.Lstat(filepath.Join(dest, filepath.FromSlash(m))); err != nil {
			missing = append(missing, m)
		}
	}
	if len(missing) == 0 && !a.Bool("overwrite") {
		return Ret{Result: True, Comment: fmt.Sprintf("All files in archive are already present in %s", dest)}
	}
	ch := map[string]any{}
	if _, err := os.Stat(dest); os.IsNotExist(err) {
		ch["directories_created"] = []any{dest}
	}
	files := members
	if n := int(a.Int("trim_output")); n > 0 && len(files) > n {
		files = append(append([]string{}, files[:n]...), fmt.Sprintf("... %d more", len(files)-n))
	}
	ch["extracted_files"] = toAny(files)
	if c.Test {
		return Ret{Result: None, Changes: ch, Comment: fmt.Sprintf("Archive %s would be extracted to %s", src, dest)}
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	switch format {
	case "zip":
		err = unzip(f.Name(), dest)
	default:
		args := []string{"-x", "-f", f.Name(), "-C", dest, "--no-same-owner"}
		args = append(args, strings.Fields(a.String("options"))...)
		var res shellResult
		res, err = runArgv(ctx, append([]string{"tar"}, args...), shellOpts{})
		if err == nil && res.Retcode != 0 {
			err = fmt.Errorf("tar failed (exit %d): %s", res.Retcode, res.Stderr)
		}
	}
	if err != nil {
		return Ret{Result: False, Comment: fmt.Sprintf("Failed to extract %s: %v", src, err)}
	}
	if u, g := a.String("user"), a.String("group"); u != "" || g != "" {
		p := perms{user: u, group: g}
		for _, m := range members {
			if err := applyPerms(filepath.Join(dest, filepath.FromSlash(m)), p); err != nil && !os.IsNotExist(err) {
				return Ret{Result: False, Comment: err.Error()}
			}
		}
	}
	return Ret{Result: True, Changes: ch, Comment: fmt.Sprintf("%s extracted to %s", src, dest)}
}

// archiveMembers lists an archive's paths (directories without the
// trailing slash), refusing any that would leave the destination.
func archiveMembers(ctx context.Context, path, format string) ([]string, error) {
	var names []string
	switch format {
	case "zip":
		r, err := zip.OpenReader(path)
		if err != nil {
			return nil, fmt.Errorf("not a zip archive: %w", err)
		}
		defer r.Close()
		for _, f := range r.File {
			names = append(names, f.Name)
		}
	case "tar":
		res, err := runArgv(ctx, []string{"tar", "-t", "-f", path}, shellOpts{})
		if err != nil {
			return nil, err
		}
		if res.Retcode != 0 {
			return nil, fmt.Errorf("not a tar archive: %s", res.Stderr)
		}
		names = strings.Split(res.Stdout, "\n")
	default:
		return nil, fmt.Errorf("archive_format %q is not supported (tar, zip)", format)
	}
	var out []string
	for _, n := range names {
		n = strings.TrimSuffix(strings.TrimPrefix(n, "./"), "/")
		if n == "" || n == "." {
			continue
		}
		if clean := filepath.Clean(n); filepath.IsAbs(n) || clean == ".." || strings.HasPrefix(clean, "../") {
			return nil, fmt.Errorf("archive member %q would be extracted outside the destination", n)
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func unzip(path, dest string) error {
	r, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, f := range r.File {
		target := filepath.Join(dest, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(target, filepath.Clean(dest)+string(filepath.Separator)) {
			return fmt.Errorf("zip member %q leaves the destination", f.Name)
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := extractZipFile(f, target); err != nil {
			return err
		}
	}
	return nil
}

func extractZipFile(f *zip.File, target string) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	mode := f.Mode().Perm()
	if mode == 0 {
		mode = 0o644
	}
	out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
