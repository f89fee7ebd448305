package render

import (
	"regexp"
	"strings"
)

var rawOpen = regexp.MustCompile(`^\{%-?\s*raw\s*-?%\}`)
var rawClose = regexp.MustCompile(`\{%-?\s*endraw\s*-?%\}`)

// dropTrailingCommas removes Python-style trailing commas before a closing
// bracket inside {{ }} and {% %} tags ({'a': 1,} or [1, 2,]), which Salt
// formulas use often and gonja's parser rejects. The comma becomes a space
// so columns and line numbers stay the same; strings, comments and raw
// blocks are left alone.
func dropTrailingCommas(src string) string {
	if !strings.Contains(src, ",") {
		return src
	}
	b := []byte(src)
	n := len(b)
	for i := 0; i < n-1; i++ {
		if b[i] != '{' {
			continue
		}
		switch b[i+1] {
		case '#':
			end := strings.Index(src[i+2:], "#}")
			if end < 0 {
				return string(b)
			}
			i += end + 3
		case '%', '{':
			if b[i+1] == '%' && rawOpen.MatchString(src[i:]) {
				loc := rawClose.FindStringIndex(src[i:])
				if loc == nil {
					return string(b)
				}
				i += loc[1] - 1
				continue
			}
			closer := byte('}')
			if b[i+1] == '%' {
				closer = '%'
			}
			i = scanTag(b, i+2, closer)
		}
	}
	return string(b)
}

// scanTag blanks trailing commas in the tag starting at i and returns the
// index of the tag's last byte.
func scanTag(b []byte, i int, closer byte) int {
	var quote byte
	for ; i < len(b); i++ {
		c := b[i]
		if quote != 0 {
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		switch c {
		case '\'', '"':
			quote = c
		case ',':
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
				j++
			}
			if j < len(b) && (b[j] == '}' || b[j] == ']' || b[j] == ')') {
				// "x, }}" is not a trailing comma in a literal but the tag's end.
				if !(b[j] == '}' && j+1 < len(b) && b[j+1] == '}' && closer == '}') {
					b[i] = ' '
				}
			}
		case closer:
			if i+1 < len(b) && b[i+1] == '}' {
				return i + 1
			}
		}
	}
	return i
}
