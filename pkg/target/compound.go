package target

import (
	"fmt"
	"strings"
)

// A compound expression is words separated by spaces: matchers ("web*",
// "G@os:Debian", "L@a,b", ...), the operators and/or/not and parentheses.
// Salt turns it into a Python boolean expression and evaluates it, so the
// precedence is Python's: not binds tighter than and, and tighter than or,
// each left to right. As in Salt, "not" right after an operand means
// "and not", and N@group is replaced in place by the group's definition in
// parentheses.

// token is one word of a compound expression, with where it came from for
// error messages.
type token struct {
	word  string
	word1 int    // 1-based word number in its source
	off   int    // byte offset in its source
	group string // nodegroup whose definition it came from, "" for the target
	leaf  node   // set for an N@ placeholder under Validate
}

func (t token) where() string {
	if t.group != "" {
		return fmt.Sprintf("word %d of nodegroup %q", t.word1, t.group)
	}
	return fmt.Sprintf("word %d (offset %d)", t.word1, t.off)
}

func isOper(w string) bool {
	return w == "and" || w == "or" || w == "not" || w == "(" || w == ")"
}

// split cuts src into words at whitespace and peels parentheses off words
// ("(web*" and "G@os:Debian)"). A trailing ')' is peeled only while the word
// has more ')' than '(', so "E@web(1|2)" keeps its regex group.
func split(src, group string) []token {
	var out []token
	n := 0
	for i := 0; i < len(src); {
		for i < len(src) && isSpace(src[i]) {
			i++
		}
		if i >= len(src) {
			break
		}
		start := i
		for i < len(src) && !isSpace(src[i]) {
			i++
		}
		n++
		w, off := src[start:i], start
		for strings.HasPrefix(w, "(") {
			out = append(out, token{word: "(", word1: n, off: off, group: group})
			w, off = w[1:], off+1
		}
		var closers int
		for strings.HasSuffix(w, ")") && strings.Count(w, ")") > strings.Count(w, "(") {
			w = w[:len(w)-1]
			closers++
		}
		if w != "" {
			out = append(out, token{word: w, word1: n, off: off, group: group})
		}
		for k := 0; k < closers; k++ {
			out = append(out, token{word: ")", word1: n, off: off + len(w) + k, group: group})
		}
	}
	return out
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// expander replaces N@ words by their definitions.
type expander struct {
	groups  map[string]string
	resolve bool
	stack   []string // nodegroups being expanded, for cycle detection
}

func (e *expander) expand(toks []token) ([]token, error) {
	var out []token
	for _, t := range toks {
		name, ok := strings.CutPrefix(t.word, "N@")
		if !ok {
			out = append(out, t)
			continue
		}
		if name == "" {
			return nil, fmt.Errorf("%w: compound: empty nodegroup name in %q at %s", ErrSyntax, t.word, t.where())
		}
		if !e.resolve {
			t.leaf = constNode(false)
			out = append(out, t)
			continue
		}
		sub, err := e.group(name, t)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

func (e *expander) group(name string, at token) ([]token, error) {
	for i, g := range e.stack {
		if g == name {
			cycle := append(append([]string{}, e.stack[i:]...), name)
			return nil, fmt.Errorf("%w: cycle %s", ErrNodegroup, strings.Join(cycle, " -> "))
		}
	}
	def, ok := e.groups[name]
	if !ok {
		return nil, fmt.Errorf("%w: unknown nodegroup %q at %s", ErrNodegroup, name, at.where())
	}
	toks := split(def, name)
	if len(toks) == 0 {
		return nil, fmt.Errorf("%w: nodegroup %q is empty", ErrNodegroup, name)
	}
	toks = plainGroup(toks, name)
	e.stack = append(e.stack, name)
	sub, err := e.expand(toks)
	e.stack = e.stack[:len(e.stack)-1]
	if err != nil {
		return nil, err
	}
	open := token{word: "(", word1: 1, group: name}
	closeTok := token{word: ")", word1: toks[len(toks)-1].word1, group: name}
	return append(append([]token{open}, sub...), closeTok), nil
}

// plainGroup handles nodegroup definitions without operators as Salt does:
// plain minion names (no wildcard, no X@ engine) form one list ("a b" and
// "a,b" both mean L@a,b); otherwise the words are alternatives.
func plainGroup(toks []token, name string) []token {
	for _, t := range toks {
		if isOper(t.word) {
			return toks
		}
	}
	names := make([]string, 0, len(toks))
	for _, t := range toks {
		if strings.ContainsAny(t.word, "*?[") || engineOf(t.word) != 0 {
			names = nil
			break
		}
		names = append(names, t.word)
	}
	if names != nil {
		return []token{{word: "L@" + strings.Join(names, ","), word1: 1, group: name}}
	}
	out := make([]token, 0, 2*len(toks))
	for i, t := range toks {
		if i > 0 {
			out = append(out, token{word: "or", word1: t.word1, off: t.off, group: name})
		}
		out = append(out, t)
	}
	return out
}

// engineOf returns the engine letter of "X@pattern", or 0.
func engineOf(w string) byte {
	if len(w) >= 2 && w[1] == '@' && w[0] >= 'A' && w[0] <= 'Z' {
		return w[0]
	}
	return 0
}

var engines = map[byte]string{
	'G': Grain, 'P': GrainPCRE, 'I': Pillar, 'J': PillarPCRE,
	'L': List, 'S': IPCIDR, 'E': PCRE,
}

func compileWord(t token) (node, error) {
	if t.leaf != nil {
		return t.leaf, nil
	}
	e := engineOf(t.word)
	if e == 0 {
		n, err := compileGlobID(t.word)
		if err != nil {
			return nil, fmt.Errorf("%w (at %s)", err, t.where())
		}
		return n, nil
	}
	typ, ok := engines[e]
	if !ok {
		if e == 'R' {
			return nil, fmt.Errorf("%w: compound: range targets (R@) are not supported, at %s", ErrSyntax, t.where())
		}
		return nil, fmt.Errorf("%w: compound: unknown matcher %q in %q at %s", ErrSyntax, string(e)+"@", t.word, t.where())
	}
	pat := t.word[2:]
	if pat == "" {
		return nil, fmt.Errorf("%w: compound: empty pattern in %q at %s", ErrSyntax, t.word, t.where())
	}
	n, err := compile(pat, typ, nil, false)
	if err != nil {
		return nil, fmt.Errorf("%w (in %q at %s)", err, t.word, t.where())
	}
	return n, nil
}

func compileCompound(tgt string, groups map[string]string, resolve bool) (node, error) {
	toks := split(tgt, "")
	if len(toks) == 0 {
		return nil, fmt.Errorf("%w: compound: empty expression", ErrSyntax)
	}
	e := &expander{groups: groups, resolve: resolve}
	toks, err := e.expand(toks)
	if err != nil {
		return nil, err
	}
	toks = implicitAnd(toks)
	p := &parser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		t := p.toks[p.i]
		if t.word == ")" {
			return nil, fmt.Errorf("%w: compound: unbalanced %q at %s", ErrSyntax, t.word, t.where())
		}
		return nil, fmt.Errorf("%w: compound: expected and/or before %q at %s", ErrSyntax, t.word, t.where())
	}
	return n, nil
}

// implicitAnd inserts "and" before a "not" that follows an operand or ')',
// as Salt does ("web* not G@os:Debian").
func implicitAnd(toks []token) []token {
	out := make([]token, 0, len(toks))
	for i, t := range toks {
		if t.word == "not" && i > 0 {
			if prev := toks[i-1].word; prev == ")" || !isOper(prev) {
				out = append(out, token{word: "and", word1: t.word1, off: t.off, group: t.group})
			}
		}
		out = append(out, t)
	}
	return out
}

// parser is a recursive-descent parser for
//
//	or   = and { "or" and }
//	and  = not { "and" not }
//	not  = "not" not | "(" or ")" | word
type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

func (p *parser) or() (node, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for t, ok := p.peek(); ok && t.word == "or"; t, ok = p.peek() {
		p.i++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &orNode{l, r}
	}
	return l, nil
}

func (p *parser) and() (node, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for t, ok := p.peek(); ok && t.word == "and"; t, ok = p.peek() {
		p.i++
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = &andNode{l, r}
	}
	return l, nil
}

func (p *parser) not() (node, error) {
	t, ok := p.peek()
	if !ok {
		if p.i == 0 {
			return nil, fmt.Errorf("%w: compound: empty expression", ErrSyntax)
		}
		last := p.toks[p.i-1]
		return nil, fmt.Errorf("%w: compound: expression ends after %q at %s", ErrSyntax, last.word, last.where())
	}
	p.i++
	switch t.word {
	case "not":
		n, err := p.not()
		if err != nil {
			return nil, err
		}
		return &notNode{n}, nil
	case "(":
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		c, ok := p.peek()
		if !ok {
			return nil, fmt.Errorf("%w: compound: unclosed \"(\" at %s", ErrSyntax, t.where())
		}
		if c.word != ")" {
			return nil, fmt.Errorf("%w: compound: expected \")\" or and/or before %q at %s", ErrSyntax, c.word, c.where())
		}
		p.i++
		return n, nil
	case "and", "or", ")":
		return nil, fmt.Errorf("%w: compound: unexpected %q at %s", ErrSyntax, t.word, t.where())
	}
	return compileWord(t)
}
