package state

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

func init() {
	Default.Register(&Func{
		Name: "file.replace",
		Doc:  "Replace occurrences of a regular expression in a file.",
		Args: []Arg{
			{Name: "pattern", Kind: String, Required: true}, {Name: "repl", Kind: String, Required: true},
			{Name: "count", Kind: Int, Default: int64(0)}, {Name: "flags", Kind: Any, Default: int64(8)},
			{Name: "append_if_not_found", Kind: Bool, Default: false}, {Name: "prepend_if_not_found", Kind: Bool, Default: false},
			{Name: "not_found_content", Kind: String}, {Name: "backup", Kind: Any, Default: ".bak", Doc: "extension of the copy kept before editing; false for none"},
			{Name: "show_changes", Kind: Bool, Default: true},
			{Name: "ignore_if_missing", Kind: Bool, Default: false},
		},
		Run: fileReplace,
	})
	Default.Register(&Func{
		Name: "file.append",
		Doc:  "Append lines to a file unless they are already in it.",
		Args: []Arg{
			{Name: "text", Kind: List}, {Name: "makedirs", Kind: Bool, Default: false},
			{Name: "source", Kind: Any}, {Name: "template", Kind: String}, {Name: "context", Kind: Dict}, {Name: "defaults", Kind: Dict},
		},
		Run: fileAppend,
	})
	Default.Register(&Func{
		Name: "file.line",
		Doc:  "Edit one line of a file: ensure, replace, insert or delete.",
		Args: []Arg{
			{Name: "content", Kind: String}, {Name: "match", Kind: String}, {Name: "mode", Kind: String, Required: true},
			{Name: "location", Kind: String}, {Name: "before", Kind: String}, {Name: "after", Kind: String},
			{Name: "show_changes", Kind: Bool, Default: true}, {Name: "backup", Kind: Any, Default: false, Doc: "extension of the copy kept before editing"},
			{Name: "indent", Kind: Bool, Default: true}, {Name: "create", Kind: Bool, Default: false},
		},
		Run: fileLine,
	})
}

// pyRegexp compiles a Python-style pattern with re flags (IGNORECASE=2,
// MULTILINE=8, DOTALL=16, or their names).
func pyRegexp(pattern string, flags any) (*regexp.Regexp, error) {
	var f int64
	switch x := flags.(type) {
	case int64:
		f = x
	case []any:
		for _, n := range x {
			switch strings.ToUpper(scalarString(n)) {
			case "IGNORECASE", "I":
				f |= 2
			case "MULTILINE", "M":
				f |= 8
			case "DOTALL", "S":
				f |= 16
			}
		}
	case string:
		return pyRegexp(pattern, []any{x})
	}
	prefix := ""
	if f&2 != 0 {
		prefix += "i"
	}
	if f&8 != 0 {
		prefix += "m"
	}
	if f&16 != 0 {
		prefix += "s"
	}
	if prefix != "" {
		pattern = "(?" + prefix + ")" + pattern
	}
	// Python's named groups (?P<n>...) are also Go's; (?<n>) is Go 1.22+.
	return regexp.Compile(pattern)
}

// pyRepl turns Python replacement syntax (\1, \g<1>, \g<name>) into Go's.
var pyBackref = regexp.MustCompile(`\\(\d+)|\\g<(\w+)>`)

func pyRepl(repl string) string {
	repl = strings.ReplaceAll(repl, "$", "$$")
	return pyBackref.ReplaceAllStringFunc(repl, func(m string) string {
		sub := pyBackref.FindStringSubmatch(m)
		if sub[1] != "" {
			return "${" + sub[1] + "}"
		}
		return "${" + sub[2] + "}"
	})
}

// backupExt reads a backup argument: an extension, or false/"" for none.
func backupExt(v any) string {
	switch x := v.(type) {
	case string:
		if b, err := convertArg(x, Bool); err == nil && b == false {
			return ""
		}
		return x
	case bool:
		if x {
			return ".bak"
		}
	}
	return ""
}

// editFile applies an edit to path's content, reporting a diff; with a
// backup extension the old content is kept next to the file first.
func (c *Call) editFile(path string, create bool, edit func(old string) (string, error), showChanges bool, backup string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil && !(os.IsNotExist(err) && create) {
		return nil, err
	}
	newText, err := edit(string(data))
	if err != nil {
		return nil, err
	}
	if newText == string(data) {
		return map[string]any{}, nil
	}
	ch := map[string]any{"diff": unifiedDiff(data, []byte(newText))}
	if !showChanges {
		ch["diff"] = "<show_changes=False>"
	}
	if c.Test {
		return ch, nil
	}
	if create {
		if err := mkdirs(filepath.Dir(path), 0o755, perms{}); err != nil {
			return nil, err
		}
	}
	if backup != "" && data != nil {
		if err := writeAtomic(path+backup, data, 0o600); err != nil {
			return nil, fmt.Errorf("backup of %s: %w", path, err)
		}
	}
	if err := writeAtomic(path, []byte(newText), 0o644); err != nil {
		return nil, err
	}
	return ch, nil
}

func fileReplace(_ context.Context, c *Call) Ret {
	a := c.Args
	name := c.Name
	if r, ok := absOrFail(name); !ok {
		return r
	}
	if _, err := os.Stat(name); os.IsNotExist(err) {
		if a.Bool("ignore_if_missing") {
			return Ret{Result: True, Comment: fmt.Sprintf("No changes needed to be made: %s does not exist", name)}
		}
		return Ret{Result: False, Comment: fmt.Sprintf("%s: file not found", name)}
	}
	re, err := pyRegexp(a.String("pattern"), a.Get("flags"))
	if err != nil {
		return Ret{Result: False, Comment: fmt.Sprintf("Invalid pattern: %v", err)}
	}
	repl := a.String("repl")
	count := int(a.Int("count"))
	ch, err := c.editFile(name, false, func(old string) (string, error) {
		if !re.MatchString(old) {
			nf := a.String("not_found_content")
			if nf == "" {
				nf = repl
			}
			// Already present as content: nothing to add.
			if strings.Contains(old, nf) {
				return old, nil
			}
			switch {
			case a.Bool("append_if_not_found"):
				if old != "" && !strings.HasSuffix(old, "\n") {
					old += "\n"
				}
				return old + nf + "\n", nil
			case a.Bool("prepend_if_not_found"):
				return nf + "\n" + old, nil
			}
			return old, nil
		}
		goRepl := pyRepl(repl)
		n := 0
		return re.ReplaceAllStringFunc(old, func(m string) string {
			if count > 0 && n >= count {
				return m
			}
			n++
			return re.ReplaceAllString(m, goRepl)
		}), nil
	}, a.Bool("show_changes"), backupExt(a.Get("backup")))
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	return fileRet(c, ch, "Changes would have been made", "Changes were made", "No changes needed to be made")
}

func fileAppend(ctx context.Context, c *Call) Ret {
	a := c.Args
	name := c.Name
	if r, ok := absOrFail(name); !ok {
		return r
	}
	var items []string
	for _, t := range a.List("text") {
		items = append(items, scalarString(t))
	}
	if a.Has("source") {
		src, url, err := c.fetchSources(ctx, a.Get("source"), "", true)
		if err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		if src, err = c.renderTemplate(ctx, a, src, url); err != nil {
			return Ret{Result: False, Comment: err.Error()}
		}
		items = append(items, strings.TrimRight(string(src), "\n"))
	}
	if len(items) == 0 {
		return Ret{Result: False, Comment: "No text or source given to append"}
	}
	if _, err := os.Stat(filepath.Dir(name)); err != nil && !a.Bool("makedirs") {
		return Ret{Result: False, Comment: fmt.Sprintf("Parent directory of %s is not present", name)}
	}
	added := 0
	ch, err := c.editFile(name, true, func(old string) (string, error) {
		out := old
		for _, it := range items {
			if strings.Contains(normSpace(out), normSpace(it)) {
				continue
			}
			if out != "" && !strings.HasSuffix(out, "\n") {
				out += "\n"
			}
			out += it + "\n"
			added += strings.Count(it, "\n") + 1
		}
		return out, nil
	}, true, "")
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	return fileRet(c, ch, fmt.Sprintf("File %s is set to be updated", name), fmt.Sprintf("Appended %d lines", added), fmt.Sprintf("File %s is in correct state", name))
}

// normSpace collapses whitespace runs, as Salt's append compares text
// through a whitespace-insensitive search.
func normSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func fileLine(_ context.Context, c *Call) Ret {
	a := c.Args
	name := c.Name
	if r, ok := absOrFail(name); !ok {
		return r
	}
	mode := strings.ToLower(a.String("mode"))
	content := a.String("content")
	if mode != "delete" && !a.Has("content") {
		return Ret{Result: False, Comment: "Content can only be empty if mode is \"delete\""}
	}
	matchS := a.String("match")
	if matchS == "" {
		matchS = regexp.QuoteMeta(content)
	}
	match, err := regexp.Compile(matchS)
	if err != nil {
		return Ret{Result: False, Comment: fmt.Sprintf("Invalid match: %v", err)}
	}
	var before, after *regexp.Regexp
	for _, x := range []struct {
		key string
		re  **regexp.Regexp
	}{{"before", &before}, {"after", &after}} {
		if s := a.String(x.key); s != "" {
			if *x.re, err = regexp.Compile(s); err != nil {
				return Ret{Result: False, Comment: fmt.Sprintf("Invalid %s: %v", x.key, err)}
			}
		}
	}
	if _, err := os.Stat(name); os.IsNotExist(err) && !a.Bool("create") {
		return Ret{Result: False, Comment: fmt.Sprintf("%s: file not found", name)}
	}
	ch, err := c.editFile(name, a.Bool("create"), func(old string) (string, error) {
		return editLines(old, mode, content, a.String("location"), match, before, after, a.Bool("indent"))
	}, a.Bool("show_changes"), backupExt(a.Get("backup")))
	if err != nil {
		return Ret{Result: False, Comment: err.Error()}
	}
	return fileRet(c, ch, "Changes would be made", "Changes were made", "No changes needed to be made")
}

// editLines implements file.line's modes on the file's lines.
func editLines(old, mode, content, location string, match, before, after *regexp.Regexp, indent bool) (string, error) {
	lines := splitLines(old)
	trimmed := make([]string, len(lines))
	for i, l := range lines {
		trimmed[i] = strings.TrimRight(l, "\n")
	}
	has := func(s string) bool {
		for _, l := range trimmed {
			if strings.TrimSpace(l) == strings.TrimSpace(s) {
				return true
			}
		}
		return false
	}
	find := func(re *regexp.Regexp) int {
		for i, l := range trimmed {
			if re.MatchString(l) {
				return i
			}
		}
		return -1
	}
	indentOf := func(i int) string {
		if !indent || i < 0 || i >= len(trimmed) {
			return ""
		}
		l := trimmed[i]
		return l[:len(l)-len(strings.TrimLeft(l, " \t"))]
	}
	out := append([]string{}, trimmed...)
	insertAt := func(i int, s string) { out = append(out[:i], append([]string{s}, out[i:]...)...) }
	switch mode {
	case "delete":
		out = out[:0]
		for _, l := range trimmed {
			if !match.MatchString(l) {
				out = append(out, l)
			}
		}
	case "replace":
		for i, l := range trimmed {
			if match.MatchString(l) {
				out[i] = indentOf(i) + strings.TrimLeft(content, " \t")
			}
		}
	case "insert", "ensure":
		if mode == "ensure" {
			if i := find(match); i >= 0 && before == nil && after == nil {
				out[i] = indentOf(i) + strings.TrimLeft(content, " \t")
				break
			}
		}
		if has(content) {
			if mode == "ensure" && (after != nil || before != nil) {
				// ensure with anchors: content must sit right after/before.
				if ai := findIdx(trimmed, after); after != nil && ai >= 0 && ai+1 < len(trimmed) && strings.TrimSpace(trimmed[ai+1]) == strings.TrimSpace(content) {
					break
				}
				if bi := findIdx(trimmed, before); before != nil && bi > 0 && strings.TrimSpace(trimmed[bi-1]) == strings.TrimSpace(content) {
					break
				}
			} else {
				break
			}
		}
		switch {
		case after != nil:
			i := find(after)
			if i < 0 {
				return "", fmt.Errorf("unable to find after pattern %q", after)
			}
			if mode == "ensure" && i+1 < len(out) && match.MatchString(out[i+1]) {
				out[i+1] = indentOf(i) + strings.TrimLeft(content, " \t")
			} else {
				insertAt(i+1, indentOf(i)+strings.TrimLeft(content, " \t"))
			}
		case before != nil:
			i := find(before)
			if i < 0 {
				return "", fmt.Errorf("unable to find before pattern %q", before)
			}
			if mode == "ensure" && i > 0 && match.MatchString(out[i-1]) {
				out[i-1] = indentOf(i) + strings.TrimLeft(content, " \t")
			} else {
				insertAt(i, indentOf(i)+strings.TrimLeft(content, " \t"))
			}
		case location == "start":
			insertAt(0, content)
		case mode == "insert" && location != "end" && location != "":
			return "", fmt.Errorf("location must be start or end, got %q", location)
		default:
			out = append(out, content)
		}
	default:
		return "", fmt.Errorf("mode must be one of ensure, replace, insert, delete; got %q", mode)
	}
	if len(out) == 0 {
		return "", nil
	}
	res := strings.Join(out, "\n")
	if strings.HasSuffix(old, "\n") || old == "" {
		res += "\n"
	}
	return res, nil
}

func findIdx(lines []string, re *regexp.Regexp) int {
	if re == nil {
		return -1
	}
	for i, l := range lines {
		if re.MatchString(l) {
			return i
		}
	}
	return -1
}
