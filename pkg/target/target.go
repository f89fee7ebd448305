// Package target decides which minions a target expression selects, with
// Salt's target types and semantics: glob (the default), pcre, list, grain,
// grain_pcre, pillar, pillar_pcre, pillar_exact, ipcidr, compound and
// nodegroup.
//
// The same code runs on the minion, whose answer is authoritative, and on
// the master, which evaluates a target against its minion cache to know which
// minions to expect. Compile parses and checks an expression once (so the
// master can test thousands of minions without re-parsing); every syntax
// error is reported at compile time and names the offending word, so Match
// itself cannot fail.
package target

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// ErrSyntax wraps every error about a malformed target expression.
var ErrSyntax = errors.New("target: invalid target")

// ErrUnknownType is returned for a tgt_type Brine does not know.
var ErrUnknownType = errors.New("target: unknown target type")

// ErrNodegroup wraps errors resolving nodegroups: unknown names and cycles.
var ErrNodegroup = errors.New("target: nodegroup")

// ErrNoMatch is returned by Select when a target selects no minion: a job
// to nobody is an error that says so, not an empty success.
var ErrNoMatch = errors.New("target: no minion matched")

// Minion is what a target is evaluated against. IPs come from the grains
// "ipv4" and "ipv6" (lists of address strings).
type Minion struct {
	ID     string
	Grains map[string]any
	Pillar map[string]any
}

// Target types, as Salt spells them (tgt_type / expr_form).
const (
	Glob        = "glob"
	PCRE        = "pcre"
	List        = "list"
	Grain       = "grain"
	GrainPCRE   = "grain_pcre"
	Pillar      = "pillar"
	PillarPCRE  = "pillar_pcre"
	PillarExact = "pillar_exact"
	IPCIDR      = "ipcidr"
	Compound    = "compound"
	Nodegroup   = "nodegroup"
)

// Types lists every supported target type.
var Types = []string{Glob, PCRE, List, Grain, GrainPCRE, Pillar, PillarPCRE, PillarExact, IPCIDR, Compound, Nodegroup}

// Matcher evaluates targets. Nodegroups maps a nodegroup name to its
// definition in compound syntax (as in the master config); a definition may
// refer to other nodegroups with N@.
type Matcher struct {
	Nodegroups map[string]string
}

// Target is a compiled target expression. It is safe for concurrent use.
type Target struct {
	root node
	src  string // the expression as given, for messages
	typ  string
}

// Match reports whether mn is selected by tgt of type tgtType ("" means glob).
// The error is non-nil only when the expression is invalid.
func (m *Matcher) Match(tgt, tgtType string, mn Minion) (bool, error) {
	t, err := m.Compile(tgt, tgtType)
	if err != nil {
		return false, err
	}
	return t.Match(mn), nil
}

// Compile parses and checks tgt once; nodegroups are expanded from m.
func (m *Matcher) Compile(tgt, tgtType string) (*Target, error) {
	var groups map[string]string
	if m != nil {
		groups = m.Nodegroups
	}
	n, err := compile(tgt, tgtType, groups, true)
	if err != nil {
		return nil, err
	}
	if tgtType == "" {
		tgtType = Glob
	}
	return &Target{root: n, src: tgt, typ: tgtType}, nil
}

// Validate checks the syntax of tgt for tgtType without any nodegroup
// definitions (N@name and nodegroup targets are only checked for a name).
func Validate(tgt, tgtType string) error {
	_, err := compile(tgt, tgtType, nil, false)
	return err
}

// Match reports whether the compiled target selects mn.
func (t *Target) Match(mn Minion) bool { return t.root.match(&mn) }

// Filter returns the minions of ms that t selects, in order.
func (t *Target) Filter(ms []Minion) []Minion {
	var out []Minion
	for i := range ms {
		if t.root.match(&ms[i]) {
			out = append(out, ms[i])
		}
	}
	return out
}

// Select returns the ids of the minions of ms that t selects, in order, or
// ErrNoMatch (wrapped with the target's text) when there are none.
func (t *Target) Select(ms []Minion) ([]string, error) {
	var ids []string
	for i := range ms {
		if t.root.match(&ms[i]) {
			ids = append(ids, ms[i].ID)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w %s %q", ErrNoMatch, t.typ, t.src)
	}
	return ids, nil
}

// TgtString turns a target as it arrives in JSON (a string, or a list of
// minion ids for the list type) into the string form Compile takes.
func TgtString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []string:
		return strings.Join(x, ","), nil
	case []any:
		parts := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", fmt.Errorf("%w: list element %d is %T, want string", ErrSyntax, i, e)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("%w: target is %T, want string or list", ErrSyntax, v)
}

// node is one compiled matcher or boolean combination.
type node interface {
	match(mn *Minion) bool
}

func compile(tgt, tgtType string, groups map[string]string, resolve bool) (node, error) {
	switch tgtType {
	case "", Glob:
		return compileGlobID(tgt)
	case PCRE:
		return compilePCREID(tgt)
	case List:
		return compileList(tgt), nil
	case Grain:
		return compileData(tgt, true, modeGlob, Grain)
	case GrainPCRE:
		return compileData(tgt, true, modeRegex, GrainPCRE)
	case Pillar:
		return compileData(tgt, false, modeGlob, Pillar)
	case PillarPCRE:
		return compileData(tgt, false, modeRegex, PillarPCRE)
	case PillarExact:
		return compileData(tgt, false, modeExact, PillarExact)
	case IPCIDR:
		return compileIPCIDR(tgt)
	case Compound:
		return compileCompound(tgt, groups, resolve)
	case Nodegroup:
		name := strings.TrimSpace(tgt)
		if name == "" {
			return nil, fmt.Errorf("%w: nodegroup: empty name", ErrSyntax)
		}
		return compileCompound("N@"+name, groups, resolve)
	}
	return nil, fmt.Errorf("%w %q (want one of %s)", ErrUnknownType, tgtType, strings.Join(Types, ", "))
}

// globID matches the minion id with fnmatch (case-sensitive, as Salt on Linux).
type globID struct {
	exact string         // set when the pattern has no metacharacters
	all   bool           // "*"
	re    *regexp.Regexp // otherwise
}

func (g *globID) match(mn *Minion) bool {
	switch {
	case g.all:
		return true
	case g.re == nil:
		return mn.ID == g.exact
	}
	return g.re.MatchString(mn.ID)
}

func compileGlobID(pat string) (node, error) {
	if pat == "" {
		return nil, fmt.Errorf("%w: glob: empty pattern", ErrSyntax)
	}
	if strings.Trim(pat, "*") == "" {
		return &globID{all: true}, nil
	}
	if !strings.ContainsAny(pat, "*?[") {
		return &globID{exact: pat}, nil
	}
	re, err := compileGlob(pat, false)
	if err != nil {
		return nil, fmt.Errorf("%w: glob %q: %w", ErrSyntax, pat, err)
	}
	return &globID{re: re}, nil
}

// pcreID matches the minion id with a regular expression anchored at the
// start only, like Python's re.match.
type pcreID struct{ re *regexp.Regexp }

func (p *pcreID) match(mn *Minion) bool { return p.re.MatchString(mn.ID) }

func compilePCREID(pat string) (node, error) {
	if pat == "" {
		return nil, fmt.Errorf("%w: pcre: empty pattern", ErrSyntax)
	}
	re, err := compileRegex(pat, false)
	if err != nil {
		return nil, fmt.Errorf("%w: pcre %q: %w", ErrSyntax, pat, err)
	}
	return &pcreID{re: re}, nil
}

// listID matches exact minion ids.
type listID map[string]bool

func (l listID) match(mn *Minion) bool { return l[mn.ID] }

func compileList(tgt string) node {
	l := listID{}
	for _, id := range strings.Split(tgt, ",") {
		if id = strings.TrimSpace(id); id != "" {
			l[id] = true
		}
	}
	return l
}

// ipMatch matches one of the minion's ipv4/ipv6 grains against an address
// or a network.
type ipMatch struct {
	addr   netip.Addr
	prefix netip.Prefix
	isNet  bool
}

func compileIPCIDR(tgt string) (node, error) {
	s := strings.TrimSpace(tgt)
	if a, err := netip.ParseAddr(s); err == nil {
		return &ipMatch{addr: a.Unmap()}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return nil, fmt.Errorf("%w: ipcidr %q: not an IP address or CIDR network", ErrSyntax, tgt)
	}
	// Host bits are forgiven (Python's strict ip_network would reject them).
	return &ipMatch{prefix: p.Masked(), isNet: true}, nil
}

func (m *ipMatch) match(mn *Minion) bool {
	key := "ipv4"
	want := m.addr
	if m.isNet {
		want = m.prefix.Addr()
	}
	if want.Is6() {
		key = "ipv6"
	}
	ips, _ := asList(mn.Grains[key])
	for _, v := range ips {
		s, ok := v.(string)
		if !ok {
			continue
		}
		s, _, _ = strings.Cut(s, "%") // zone
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		a = a.Unmap()
		if m.isNet && m.prefix.Contains(a) || !m.isNet && a == m.addr {
			return true
		}
	}
	return false
}

// Boolean combinations built by the compound parser.
type (
	andNode struct{ l, r node }
	orNode  struct{ l, r node }
	notNode struct{ n node }
)

func (n *andNode) match(mn *Minion) bool { return n.l.match(mn) && n.r.match(mn) }
func (n *orNode) match(mn *Minion) bool  { return n.l.match(mn) || n.r.match(mn) }
func (n *notNode) match(mn *Minion) bool { return !n.n.match(mn) }

// constNode is what an unresolved nodegroup compiles to under Validate.
type constNode bool

func (c constNode) match(*Minion) bool { return bool(c) }
