package events

import "unicode/utf8"

// Match reports whether tag matches glob with shell (fnmatch) rules as Salt
// applies them to event tags: '*' matches any run of characters including
// '/', '?' matches one character, '[abc]', '[a-z]' and '[!a-z]' (or '[^a-z]')
// match one character of a class, and '\' makes the next character literal.
// "" and "*" match every tag. A malformed class matches nothing.
func Match(glob, tag string) bool {
	if glob == "" || glob == "*" {
		return true
	}
	// Iterative matcher with one backtrack point: the last '*' seen and the
	// tag position it was tried at. Linear for globs with a single '*', and
	// never exponential.
	var starG, starT = -1, 0
	g, t := 0, 0
	for t < len(tag) {
		if g < len(glob) {
			switch glob[g] {
			case '*':
				starG, starT = g, t
				g++
				continue
			case '?':
				_, w := utf8.DecodeRuneInString(tag[t:])
				g++
				t += w
				continue
			case '[':
				r, w := utf8.DecodeRuneInString(tag[t:])
				if ok, n := matchClass(glob[g:], r); n > 0 && ok {
					g += n
					t += w
					continue
				}
			case '\\':
				if g+1 < len(glob) && glob[g+1] == tag[t] {
					g += 2
					t++
					continue
				}
			default:
				if glob[g] == tag[t] {
					g++
					t++
					continue
				}
			}
		}
		if starG < 0 {
			return false
		}
		// Let the last '*' swallow one more character and retry.
		_, w := utf8.DecodeRuneInString(tag[starT:])
		starT += w
		g, t = starG+1, starT
	}
	for g < len(glob) && glob[g] == '*' {
		g++
	}
	return g == len(glob)
}

// matchClass matches r against the class at the start of glob (which begins
// with '['). It returns whether r is in the class and the class's length in
// bytes, or n == 0 when the class is malformed (no closing ']').
func matchClass(glob string, r rune) (ok bool, n int) {
	i := 1
	negate := false
	if i < len(glob) && (glob[i] == '!' || glob[i] == '^') {
		negate = true
		i++
	}
	first := true
	for i < len(glob) {
		if glob[i] == ']' && !first {
			return ok != negate, i + 1
		}
		first = false
		lo, w := classChar(glob[i:])
		if w == 0 {
			return false, 0
		}
		i += w
		hi := lo
		if i+1 < len(glob) && glob[i] == '-' && glob[i+1] != ']' {
			hi, w = classChar(glob[i+1:])
			if w == 0 {
				return false, 0
			}
			i += 1 + w
		}
		if lo <= r && r <= hi {
			ok = true
		}
	}
	return false, 0
}

func classChar(s string) (rune, int) {
	if s[0] == '\\' {
		if len(s) < 2 {
			return 0, 0
		}
		r, w := utf8.DecodeRuneInString(s[1:])
		return r, w + 1
	}
	return utf8.DecodeRuneInString(s)
}
