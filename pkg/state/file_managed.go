package state

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/brine-project/brine/pkg/fileperm"
)

func init() {
	common := []Arg{
		{Name: "user", Kind: String}, {Name: "group", Kind: String},
		{Name: "makedirs", Kind: Bool, Default: false}, {Name: "dir_mode", Kind: String},
		{Name: "template", Kind: String}, {Name: "context", Kind: Dict}, {Name: "defaults", Kind: Dict},
		{Name: "backup", Kind: String}, {Name: "show_changes", Kind: Bool, Default: true},
	}
	Default.Register(&Func{
		Name: "file.managed",
		Doc:  "Manage a file's content (source, contents), ownership and mode.",
		Args: append([]Arg{
			{Name: "source", Kind: Any, Doc: "salt:// URL, local path or http(s) URL, or a list tried in order"},
			{Name: "source_hash", Kind: String}, {Name: "skip_verify", Kind: Bool, Default: false},
			{Name: "contents", Kind: Any}, {Name: "contents_pillar", Kind: String}, {Name: "contents_grains", Kind: String},
			{Name: "contents_newline", Kind: Bool, Default: true},
			{Name: "mode", Kind: String}, {Name: "replace", Kind: Bool, Default: true},
			{Name: "create", Kind: Bool, Default: true},
		}, common...),
		Run: fileManaged,
	})
	Default.Register(&Func{
		Name: "file.recurse",
		Doc:  "Mirror a salt:// directory onto a local directory.",
		Args: append([]Arg{
			{Name: "source", Kind: String, Required: true}, {Name: "clean", Kind: Bool, Default: false},
			{Name: "file_mode", Kind: String}, {Name: "include_pat", Kind: String}, {Name: "exclude_pat", Kind: String},
		}, common...),
		Run: fileRecurse,
	})
}

// managedSpec is what one managed file should look like.
type managedSpec struct {
	path        string
	content     []byte
	hasContent  bool
	replace     bool
	create      bool
	perms       perms
	makedirs    bool
	dirMode     os.FileMode
	backup      string
	showChanges bool
}

// manageFile computes and (unless test) applies spec; the returned changes
// use Salt's keys (diff, user, group, mode).
func (c *Call) manageFile(s managedSpec) (map[string]any, error) {
	ch := map[string]any{}
	if err := checkPerms(s.perms); err != nil {
		return nil, err
	}
	// A symlink is followed: its target is managed (Salt's default
	// follow_symlinks=True), not replaced by a regular file.
	if li, err := os.Lstat(s.path); err == nil && li.Mode()&os.ModeSymlink != 0 {
		if real, err := filepath.EvalSymlinks(s.path); err == nil {
			s.path = real
		}
	}
	fi, err := os.Stat(s.path)
	exists := err == nil
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	if exists && fi.IsDir() {
		return nil, fmt.Errorf("specified target %s is a directory", s.path)
	}
	if !exists && !s.create {
		return ch, nil
	}
	parent := filepath.Dir(s.path)
	// In test mode an earlier state may only be about to create it.
	if _, err := os.Stat(parent); err != nil && !s.makedirs && !c.Test {
		return nil, fmt.Errorf("parent directory not present: %s", parent)
	}
	var old []byte
	if exists {
		if old, err = os.ReadFile(s.path); err != nil {
			return nil, err
		}
	}
	writeContent := false
	switch {
	case !exists:
		ch["diff"] = "New file"
		writeContent = true
	case s.hasContent && s.replace && !bytes.Equal(old, s.content):
		writeContent = true
		if s.showChanges {
			ch["diff"] = unifiedDiff(old, s.content)
		} else {
			ch["diff"] = "<show_changes=False>"
		}
	}
	if exists {
		pc, err := permChanges(s.path, s.perms)
		if err != nil {
			return nil, err
		}
		for k, v := range pc {
			ch[k] = v
		}
	} else {
		if s.perms.hasMode {
			ch["mode"] = fileperm.String(s.perms.mode)
		}
		if s.perms.user != "" {
			ch["user"] = s.perms.user
		}
		if s.perms.group != "" {
			ch["group"] = s.perms.group
		}
	}
	if c.Test || len(ch) == 0 {
		return ch, nil
	}
	if s.makedirs {
		dm := s.dirMode
		if dm == 0 {
			dm = 0o755
		}
		if err := mkdirs(parent, dm, perms{user: s.perms.user, group: s.perms.group}); err != nil {
			return nil, fmt.Errorf("makedirs %s: %w", parent, err)
		}
	}
	if writeContent {
		if exists && s.backup == "minion" {
			if err := backupFile(c.Deps().CacheDir, s.path); err != nil {
				return nil, fmt.Errorf("backup of %s: %w", s.path, err)
			}
		}
		mode := os.FileMode(0o644)
		if s.perms.hasMode {
			mode = s.perms.mode
		}
		if err := writeAtomic(s.path, s.content, mode); err != nil {
			return nil, err
		}
	}
	if err := applyPerms(s.path, s.perms); err != nil {
		return nil, err
	}
	return ch, nil
}

func specPerms(a *Args, modeKey string) (perms, error) {
	p := perms{user: a.String("user"), group: a.String("group")}
	m, ok, err := parseMode(a.Get(modeKey))
	if err != nil {
		return p, err
	}
	p.mode, p.hasMode = m, ok
	return p, nil
}

func fileManaged(ctx context.Context, c *Call) Ret {
	name := c.Name
	if !filepath.IsAbs(name) {
		return Ret{Result: False, Comment: fmt.Sprintf("Specified file %s is not an absolute path", name)}
	}
	a := c.Args
	p, err := specPerms(a, "mode")
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	dm, _, err := parseMode(a.Get("dir_mode"))
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	spec := managedSpec{path: name, replace: a.Bool("replace"), create: a.Bool("create"), perms: p,
		makedirs: a.Bool("makedirs"), dirMode: dm, backup: a.String("backup"), showChanges: a.Bool("show_changes")}
	nContent := 0
	for _, k := range []string{"source", "contents", "contents_pillar", "contents_grains"} {
		if a.Has(k) {
			nContent++
		}
	}
	if nContent > 1 {
		return Ret{Result: False, Comment: "Only one of 'source', 'contents', 'contents_pillar' and 'contents_grains' is permitted"}
	}
	var content []byte
	switch {
	case a.Has("source"):
		src, url, err := c.fetchSources(ctx, a.Get("source"), a.String("source_hash"), a.Bool("skip_verify"))
		if err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		content, err = c.renderTemplate(ctx, a, src, url)
		if err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
	case a.Has("contents"), a.Has("contents_pillar"), a.Has("contents_grains"):
		var v any
		switch {
		case a.Has("contents"):
			v = a.Get("contents")
		case a.Has("contents_pillar"):
			v, _ = traverse(c.Options().Pillar, a.String("contents_pillar"))
		default:
			v, _ = traverse(c.Options().Grains, a.String("contents_grains"))
		}
		text := contentsText(v)
		if a.Bool("contents_newline") && !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		content = []byte(text)
		if a.Has("template") {
			content, err = c.renderTemplate(ctx, a, content, name)
			if err != nil {
				return Ret{Result: False, Comment: err.Error()}
			}
		}
	}
	spec.content, spec.hasContent = content, content != nil
	ch, err := c.manageFile(spec)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	return fileRet(c, ch, fmt.Sprintf("The file %s is set to be changed", name), fmt.Sprintf("File %s updated", name), fmt.Sprintf("File %s is in the correct state", name))
}

// fileRet builds the usual result for file states.
func fileRet(c *Call, ch map[string]any, testMsg, doneMsg, okMsg string) Ret {
	if len(ch) == 0 {
		return Ret{Result: True, Comment: okMsg}
	}
	if c.Test {
		return Ret{Result: None, Changes: ch, Comment: testMsg + "\nNote: No changes made, actual changes may\nbe different due to other states."}
	}
	return Ret{Result: True, Changes: ch, Comment: doneMsg}
}

func contentsText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []any:
		var lines []string
		for _, l := range x {
			lines = append(lines, scalarString(l))
		}
		return strings.Join(lines, "\n")
	}
	return scalarString(v)
}

// traverse looks a "a:b:c" path up in nested maps, as pillar.get does.
func traverse(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, k := range strings.Split(path, ":") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// renderTemplate runs the template engine named by the template argument
// with defaults overridden by context.
func (c *Call) renderTemplate(ctx context.Context, a *Args, src []byte, url string) ([]byte, error) {
	engine := a.String("template")
	if engine == "" {
		return src, nil
	}
	if engine != "jinja" && engine != "django" {
		return nil, fmt.Errorf("unsupported template %q (want jinja or django)", engine)
	}
	vars := map[string]any{}
	for k, v := range a.Map("defaults") {
		vars[k] = v
	}
	for k, v := range a.Map("context") {
		vars[k] = v
	}
	in := c.e.renderInput(c.Saltenv, c.SLS, url)
	in.Vars = vars
	if c.e.deps.Renderer == nil {
		return nil, errors.New("no renderer configured for templates")
	}
	out, err := c.e.deps.Renderer.RenderTemplate(ctx, engine, src, in)
	if err != nil {
		return nil, fmt.Errorf("unable to manage file: %w", err)
	}
	return []byte(out), nil
}

// fetchSources returns the first source that exists (Salt's source list).
func (c *Call) fetchSources(ctx context.Context, v any, sourceHash string, skipVerify bool) ([]byte, string, error) {
	var tried []string
	for _, s := range asList(v) {
		url, hashv := "", sourceHash
		switch x := s.(type) {
		case map[string]any:
			// - salt://a: sha256=...
			for k, h := range x {
				url, hashv = k, scalarString(h)
			}
		default:
			url = scalarString(x)
		}
		data, err := c.fetch(ctx, url, hashv == "" && !skipVerify)
		if IsNotFound(err) {
			tried = append(tried, url)
			continue
		}
		if err != nil {
			return nil, url, err
		}
		if hashv != "" && !skipVerify {
			if strings.Contains(hashv, "://") || strings.HasPrefix(hashv, "/") {
				if hashv, err = c.hashFromFile(ctx, hashv, url); err != nil {
					return nil, url, err
				}
			}
			if err := verifyHash(data, hashv, url); err != nil {
				return nil, url, err
			}
		}
		return data, url, nil
	}
	return nil, "", fmt.Errorf("source file not found: none of %s exist", strings.Join(tried, ", "))
}

func (c *Call) fetch(ctx context.Context, url string, noHash bool) ([]byte, error) {
	switch {
	case strings.HasPrefix(url, "salt://"):
		env := c.Saltenv
		if i := strings.Index(url, "?saltenv="); i >= 0 {
			url, env = url[:i], url[i+len("?saltenv="):]
		}
		if c.e.deps.Files == nil {
			return nil, errors.New("no file client configured for salt:// sources")
		}
		local, err := c.e.deps.Files.GetFile(ctx, url, env)
		if err != nil {
			return nil, err
		}
		return os.ReadFile(local)
	case strings.HasPrefix(url, "http://"), strings.HasPrefix(url, "https://"):
		if noHash {
			return nil, fmt.Errorf("unable to verify upstream hash of source file %s, please set source_hash or set skip_verify to True", url)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, url)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetch %s: %s", url, resp.Status)
		}
		return io.ReadAll(resp.Body)
	default:
		p := strings.TrimPrefix(url, "file://")
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("source %q is not a salt://, http(s):// or absolute path", url)
		}
		data, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, url)
		}
		return data, err
	}
}

// hashFromFile reads a source_hash given as a file (salt://, http(s) or a
// path), as sha256sum writes them: the line naming the source's file name,
// or the only digest in the file.
func (c *Call) hashFromFile(ctx context.Context, hashURL, source string) (string, error) {
	data, err := c.fetch(ctx, hashURL, false)
	if err != nil {
		return "", fmt.Errorf("unable to read source_hash file %s: %w", hashURL, err)
	}
	base := filepath.Base(strings.TrimSuffix(source, "/"))
	var only []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !isHex(f[0]) {
			continue
		}
		if len(f) > 1 && strings.TrimPrefix(filepath.Base(f[len(f)-1]), "*") == base {
			return f[0], nil
		}
		only = append(only, f[0])
	}
	if len(only) == 1 {
		return only[0], nil
	}
	return "", fmt.Errorf("source_hash file %s has no digest for %s", hashURL, base)
}

func isHex(s string) bool {
	if len(s) < 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// verifyHash checks "sha256=hex", "md5=hex", ... or a bare hex digest
// whose length names the algorithm.
func verifyHash(data []byte, spec, url string) error {
	algo, want, found := strings.Cut(spec, "=")
	if !found {
		want, algo = spec, ""
	}
	want = strings.ToLower(strings.TrimSpace(want))
	var h hash.Hash
	switch {
	case algo == "md5" || algo == "" && len(want) == 32:
		algo, h = "md5", md5.New()
	case algo == "sha1" || algo == "" && len(want) == 40:
		algo, h = "sha1", sha1.New()
	case algo == "sha256" || algo == "" && len(want) == 64:
		algo, h = "sha256", sha256.New()
	case algo == "sha512" || algo == "" && len(want) == 128:
		algo, h = "sha512", sha512.New()
	default:
		return fmt.Errorf("source_hash %q: unknown hash type", spec)
	}
	h.Write(data)
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("specified %s checksum for %s (%s) does not match actual checksum (%s)", algo, url, want, got)
	}
	return nil
}

func fileRecurse(ctx context.Context, c *Call) Ret {
	name := filepath.Clean(c.Name)
	a := c.Args
	if !filepath.IsAbs(name) {
		return Ret{Result: False, Comment: fmt.Sprintf("Specified file %s is not an absolute path", name)}
	}
	src := a.String("source")
	if !strings.HasPrefix(src, "salt://") {
		return Ret{Result: False, Comment: "Recurse failed: source must be a salt:// directory"}
	}
	prefix := strings.Trim(strings.TrimPrefix(src, "salt://"), "/")
	files, err := c.e.deps.Files.ListFiles(ctx, c.Saltenv, prefix)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if len(files) == 0 {
		return Ret{Result: False, Comment: fmt.Sprintf("Recurse failed: none of the specified sources were found (%s)", src)}
	}
	fp, err := specPerms(a, "file_mode")
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	dm, hasDM, err := parseMode(a.Get("dir_mode"))
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if !hasDM {
		dm = 0o755
	}
	if _, err := os.Stat(filepath.Dir(name)); err != nil && !a.Bool("makedirs") {
		return Ret{Result: False, Comment: fmt.Sprintf("The following dependencies are missing: parent directory %s", filepath.Dir(name))}
	}
	changes := map[string]any{}
	keep := map[string]bool{name: true}
	for _, rel := range files {
		sub := strings.TrimPrefix(strings.TrimPrefix(rel, prefix), "/")
		if prefix == "" {
			sub = rel
		}
		if !patAllows(sub, a.String("include_pat"), a.String("exclude_pat")) {
			continue
		}
		dest := filepath.Join(name, filepath.FromSlash(sub))
		for d := dest; d != name && d != "/"; d = filepath.Dir(d) {
			keep[d] = true
		}
		data, err := c.fetch(ctx, "salt://"+rel, false)
		if err != nil {
			return Ret{Result: False, Comment: err.Error(), Changes: changes}
		}
		if data, err = c.renderTemplate(ctx, a, data, "salt://"+rel); err != nil {
			return Ret{Result: False, Comment: err.Error(), Changes: changes}
		}
		ch, err := c.manageFile(managedSpec{path: dest, content: data, hasContent: true, replace: true, create: true,
			perms: fp, makedirs: true, dirMode: dm, backup: a.String("backup"), showChanges: a.Bool("show_changes")})
		if err != nil {
			return Ret{Result: False, Comment: fmt.Sprintf("%s: %v", dest, err), Changes: changes}
		}
		if len(ch) > 0 {
			changes[dest] = ch
		}
	}
	if a.Bool("clean") {
		removed, err := cleanDir(name, keep, c.Test)
		if err != nil {
			return Ret{Result: False, Comment: err.Error(), Changes: changes}
		}
		for _, r := range removed {
			changes[r] = map[string]any{"removed": r}
		}
	}
	return fileRet(c, changes, fmt.Sprintf("The directory %s is set to be changed", name),
		fmt.Sprintf("Recursively updated %s", name), fmt.Sprintf("The directory %s is in the correct state", name))
}

// patAllows applies include_pat/exclude_pat: globs, or regexes with E@.
func patAllows(rel, include, exclude string) bool {
	match := func(p string) bool {
		if re, ok := strings.CutPrefix(p, "E@"); ok {
			return regexpMatch(re, rel)
		}
		return globMatch(p, rel) || globMatch(p, filepath.Base(rel))
	}
	if include != "" && !match(include) {
		return false
	}
	if exclude != "" && match(exclude) {
		return false
	}
	return true
}
