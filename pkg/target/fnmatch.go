package target

import (
	"regexp"
	"strings"
)

// globRegex translates a shell pattern into a regular expression the way
// Python's fnmatch.translate does, which is what Salt matches with: '*'
// matches anything including '/' and '.', '?' one character, "[a-z]" and
// "[!a-z]" character classes, an unclosed '[' is literal, and there is no
// backslash escaping.
func globRegex(pat string) string {
	var b strings.Builder
	b.WriteString(`\A(?s:`)
	for i := 0; i < len(pat); {
		c := pat[i]
		i++
		switch c {
		case '*':
			for i < len(pat) && pat[i] == '*' {
				i++
			}
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			j := i
			if j < len(pat) && pat[j] == '!' {
				j++
			}
			if j < len(pat) && pat[j] == ']' {
				j++
			}
			for j < len(pat) && pat[j] != ']' {
				j++
			}
			if j >= len(pat) {
				b.WriteString(`\[`)
				continue
			}
			stuff := pat[i:j]
			i = j + 1
			neg := strings.HasPrefix(stuff, "!")
			if neg {
				stuff = stuff[1:]
			}
			if stuff == "" {
				if neg {
					b.WriteString(".") // "[!]" : Python matches any char
				} else {
					b.WriteString("(?!)")
				}
				continue
			}
			b.WriteByte('[')
			if neg {
				b.WriteByte('^')
			}
			for k := 0; k < len(stuff); k++ {
				switch ch := stuff[k]; ch {
				case '\\', '[', ']', '^':
					b.WriteByte('\\')
					b.WriteByte(ch)
				default:
					b.WriteByte(ch)
				}
			}
			b.WriteByte(']')
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`)\z`)
	return b.String()
}

// compileGlob compiles a shell pattern; fold makes it case-insensitive, as
// Salt's grain and pillar matchers are (they lower-case both sides).
func compileGlob(pat string, fold bool) (*regexp.Regexp, error) {
	src := globRegex(pat)
	if fold {
		src = "(?i)" + src
	}
	return regexp.Compile(src)
}

// compileRegex compiles a regular expression anchored at the start only, like
// Python's re.match.
func compileRegex(pat string, fold bool) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pat); err != nil {
		return nil, err // report the error against the user's own text
	}
	src := `\A(?:` + pat + `)`
	if fold {
		src = "(?i)" + src
	}
	return regexp.Compile(src)
}

// Fnmatch reports whether name matches the shell pattern pat with Python
// fnmatch semantics (case-sensitive). An invalid pattern matches nothing.
func Fnmatch(pat, name string) bool {
	if !strings.ContainsAny(pat, "*?[") {
		return pat == name
	}
	re, err := compileGlob(pat, false)
	return err == nil && re.MatchString(name)
}
