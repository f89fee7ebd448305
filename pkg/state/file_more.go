package state

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

func init() {
	perm := []Arg{{Name: "user", Kind: String}, {Name: "group", Kind: String}, {Name: "mode", Kind: String}, {Name: "makedirs", Kind: Bool, Default: false}}
	Default.Register(&Func{Name: "file.serialize", Doc: "Write data as JSON or YAML.", Args: append([]Arg{
		{Name: "dataset", Kind: Any}, {Name: "dataset_pillar", Kind: String},
		{Name: "formatter", Kind: String, Default: "yaml"}, {Name: "show_changes", Kind: Bool, Default: true},
		{Name: "backup", Kind: String},
	}, perm...), Run: fileSerialize})
	Default.Register(&Func{Name: "file.copy", Doc: "Copy a local file to name.", Args: append([]Arg{
		{Name: "source", Kind: String, Required: true}, {Name: "force", Kind: Bool, Default: false},
		{Name: "preserve", Kind: Bool, Default: false},
	}, perm...), Run: fileCopy})
	Default.Register(&Func{Name: "file.touch", Doc: "Create an empty file or update its times (always reports a change, as Salt).", Args: []Arg{
		{Name: "atime", Kind: Int}, {Name: "mtime", Kind: Int}, {Name: "makedirs", Kind: Bool, Default: false},
	}, Run: fileTouch})
	Default.Register(&Func{Name: "file.exists", Doc: "Succeed when the path exists (changes nothing).", Run: fileExists(true)})
	Default.Register(&Func{Name: "file.missing", Doc: "Succeed when the path does not exist (changes nothing).", Run: fileExists(false)})
	commentArgs := []Arg{{Name: "regex", Kind: String, Required: true}, {Name: "char", Kind: String, Default: "#"},
		{Name: "backup", Kind: Any, Default: ".bak"}}
	Default.Register(&Func{Name: "file.comment", Doc: "Comment out lines matching regex.", Args: commentArgs, Run: fileComment(true)})
	Default.Register(&Func{Name: "file.uncomment", Doc: "Uncomment lines matching regex.", Args: commentArgs, Run: fileComment(false)})
	Default.Register(&Func{Name: "file.blockreplace", Doc: "Maintain a block of text between two marker lines.", Args: []Arg{
		{Name: "marker_start", Kind: String, Default: "#-- start managed zone --"},
		{Name: "marker_end", Kind: String, Default: "#-- end managed zone --"},
		{Name: "content", Kind: String, Default: ""}, {Name: "append_if_not_found", Kind: Bool, Default: false},
		{Name: "prepend_if_not_found", Kind: Bool, Default: false}, {Name: "append_newline", Kind: Bool, Default: true},
		{Name: "backup", Kind: Any, Default: ".bak"}, {Name: "show_changes", Kind: Bool, Default: true},
	}, Run: fileBlockreplace})
}

func fileSerialize(_ context.Context, c *Call) Ret {
	a := c.Args
	if r, ok := absOrFail(c.Name); !ok {
		return r
	}
	data := a.Get("dataset")
	if a.Has("dataset_pillar") {
		v, ok := traverse(c.Options().Pillar, a.String("dataset_pillar"))
		if !ok {
			return Ret{Result: False, Comment: fmt.Sprintf("pillar key %s not found", a.String("dataset_pillar"))}
		}
		data = v
	}
	var out []byte
	var err error
	switch strings.ToLower(a.String("formatter")) {
	case "json":
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		err = enc.Encode(data)
		out = b.Bytes()
	case "yaml":
		out, err = yaml.Marshal(data)
	default:
		return Ret{Result: False, Comment: fmt.Sprintf("formatter %q is not supported (json, yaml)", a.String("formatter"))}
	}
	if err != nil {
		return Ret{Result: False, Comment: fmt.Sprintf("cannot serialize: %v", err)}
	}
	p, err := specPerms(a, "mode")
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	ch, err := c.manageFile(managedSpec{path: c.Name, content: out, hasContent: true, replace: true, create: true, perms: p,
		makedirs: a.Bool("makedirs"), backup: a.String("backup"), showChanges: a.Bool("show_changes")})
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	return fileRet(c, ch, fmt.Sprintf("Dataset will be serialized and stored into %s", c.Name),
		fmt.Sprintf("File %s updated", c.Name), fmt.Sprintf("File %s is in the correct state", c.Name))
}

func fileCopy(_ context.Context, c *Call) Ret {
	a := c.Args
	if r, ok := absOrFail(c.Name); !ok {
		return r
	}
	src := a.String("source")
	data, err := os.ReadFile(src)
	if err != nil {
		return Ret{Result: False, Comment: fmt.Sprintf("Source file %q is not present", src)}
	}
	if _, err := os.Stat(c.Name); err == nil && !a.Bool("force") {
		return Ret{Result: True, Comment: fmt.Sprintf("The target file %q exists and will not be overwritten", c.Name)}
	}
	p, err := specPerms(a, "mode")
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if a.Bool("preserve") && !p.hasMode {
		if fi, err := os.Stat(src); err == nil {
			p.mode, p.hasMode = fi.Mode()&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky), true
		}
	}
	ch, err := c.manageFile(managedSpec{path: c.Name, content: data, hasContent: true, replace: true, create: true, perms: p,
		makedirs: a.Bool("makedirs"), showChanges: true})
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	if len(ch) > 0 {
		ch = map[string]any{c.Name: src}
	}
	return fileRet(c, ch, fmt.Sprintf("File %q is set to be copied to %q", src, c.Name),
		fmt.Sprintf("Copied %q to %q", src, c.Name), fmt.Sprintf("The target file %q is a copy of %q", c.Name, src))
}

func fileTouch(_ context.Context, c *Call) Ret {
	a := c.Args
	if r, ok := absOrFail(c.Name); !ok {
		return r
	}
	_, err := os.Stat(c.Name)
	key := "touched"
	if os.IsNotExist(err) {
		key = "new"
	}
	ch := map[string]any{key: c.Name}
	if c.Test {
		return Ret{Result: None, Changes: ch, Comment: fmt.Sprintf("File %s is set to be %s", c.Name, map[string]string{"new": "created", "touched": "updated"}[key])}
	}
	if a.Bool("makedirs") {
		if err := mkdirs(filepath.Dir(c.Name), 0o755, perms{}); err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
	}
	f, err := os.OpenFile(c.Name, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	f.Close()
	now := time.Now()
	at, mt := now, now
	if a.Has("atime") {
		at = time.Unix(a.Int("atime"), 0)
	}
	if a.Has("mtime") {
		mt = time.Unix(a.Int("mtime"), 0)
	}
	if err := os.Chtimes(c.Name, at, mt); err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	return Ret{Result: True, Changes: ch, Comment: fmt.Sprintf("Updated times on file %s", c.Name)}
}

func fileExists(want bool) func(_ context.Context, c *Call) Ret {
	return func(_ context.Context, c *Call) Ret {
		_, err := os.Lstat(c.Name)
		if (err == nil) == want {
			return Ret{Result: True, Comment: fmt.Sprintf("Path %s %s", c.Name, map[bool]string{true: "exists", false: "is missing"}[want])}
		}
		return Ret{Result: False, Comment: fmt.Sprintf("Specified path %s %s", c.Name, map[bool]string{true: "does not exist", false: "exists"}[want])}
	}
}

func fileComment(comment bool) func(_ context.Context, c *Call) Ret {
	return func(_ context.Context, c *Call) Ret {
		a := c.Args
		if r, ok := absOrFail(c.Name); !ok {
			return r
		}
		// Salt wraps the pattern, keeping ^ and $ outside the group.
		pat := a.String("regex")
		start, end := strings.HasPrefix(pat, "^"), strings.HasSuffix(pat, "$")
		pat = strings.TrimSuffix(strings.TrimPrefix(pat, "^"), "$")
		char := a.String("char")
		re, err := regexp.Compile(map[bool]string{true: "^", false: ""}[start] + "(" + pat + ")" + map[bool]string{true: "$", false: ""}[end])
		if err != nil {
			return Ret{Result: False, Comment: fmt.Sprintf("Invalid regex: %v", err)}
		}
		found := false
		ch, err := c.editFile(c.Name, false, func(old string) (string, error) {
			lines := splitLines(old)
			for i, l := range lines {
				body := strings.TrimRight(l, "\n")
				nl := l[len(body):]
				if comment {
					if re.MatchString(body) {
						found = true
						lines[i] = char + body + nl
					} else if strings.HasPrefix(body, char) && re.MatchString(strings.TrimPrefix(body, char)) {
						found = true
					}
					continue
				}
				trimmed := strings.TrimLeft(body, " \t")
				if rest, ok := strings.CutPrefix(trimmed, char); ok && re.MatchString(strings.TrimLeft(rest, " ")) {
					found = true
					lines[i] = body[:len(body)-len(trimmed)] + strings.TrimLeft(rest, " ") + nl
				} else if re.MatchString(body) {
					found = true
				}
			}
			return strings.Join(lines, ""), nil
		}, true, backupExt(a.Get("backup")))
		if err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		if !found {
			return Ret{Result: False, Comment: fmt.Sprintf("Pattern not found: %s", a.String("regex"))}
		}
		what := map[bool]string{true: "Commented", false: "Uncommented"}[comment]
		return fileRet(c, ch, fmt.Sprintf("File %s is set to be updated", c.Name), what+" lines successfully",
			fmt.Sprintf("Pattern already %s", strings.ToLower(what)))
	}
}

func fileBlockreplace(_ context.Context, c *Call) Ret {
	a := c.Args
	if r, ok := absOrFail(c.Name); !ok {
		return r
	}
	start, end := a.String("marker_start"), a.String("marker_end")
	content := a.String("content")
	if a.Bool("append_newline") && content != "" && !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	ch, err := c.editFile(c.Name, false, func(old string) (string, error) {
		lines := splitLines(old)
		si, ei := -1, -1
		for i, l := range lines {
			t := strings.TrimSpace(l)
			if si < 0 && strings.HasPrefix(t, strings.TrimSpace(start)) {
				si = i
			} else if si >= 0 && strings.HasPrefix(t, strings.TrimSpace(end)) {
				ei = i
				break
			}
		}
		block := start + "\n" + content + end + "\n"
		switch {
		case si >= 0 && ei > si:
			return strings.Join(lines[:si+1], "") + content + strings.Join(lines[ei:], ""), nil
		case si >= 0:
			return "", fmt.Errorf("unterminated marked block: %q found without %q", start, end)
		case a.Bool("append_if_not_found"):
			if old != "" && !strings.HasSuffix(old, "\n") {
				old += "\n"
			}
			return old + block, nil
		case a.Bool("prepend_if_not_found"):
			return block + old, nil
		}
		return "", fmt.Errorf("cannot edit marked block: markers were not found in file %s", c.Name)
	}, a.Bool("show_changes"), backupExt(a.Get("backup")))
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	return fileRet(c, ch, "Changes would be made", "Changes were made", "No changes needed to be made")
}
