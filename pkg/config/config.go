// Package config loads the daemons' YAML configuration strictly.
//
// [Load] decodes a YAML file into a struct with `yaml` tags, then overlays
// environment variables BRINE_<KEY> for every top-level key. It promises:
//   - unknown keys, duplicate keys and values of the wrong type are errors
//     naming file:line and the key path; every problem in the file is
//     reported at once (as nats-server does), not only the first;
//   - durations (time.Duration fields) accept Go's "30s", "5m", "1h30m" and
//     days, "90d", "1d12h"; a bare number other than 0 is refused, since
//     "30" could mean seconds or minutes;
//   - a list field also accepts a single scalar ("master: host:4506");
//   - environment values are parsed per field type: text, numbers, bools,
//     durations, lists as comma-separated text, maps and structs as YAML
//     (replacing, not merging with, the file's value);
//   - if the destination has a Validate() error method, it runs last.
//
// Defaults are whatever dst holds before Load: keys absent from the file and
// the environment leave fields untouched.
package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix prefixes the environment variable of every top-level key.
const EnvPrefix = "BRINE_"

// ErrInvalid is wrapped by every *Error.
var ErrInvalid = errors.New("config: invalid configuration")

// Problem is one thing wrong with a configuration.
type Problem struct {
	Source string // file name, or "env BRINE_X"
	Line   int    // 0 when not known
	Key    string // dotted key path, when known
	Msg    string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Source)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error lists every problem found; it wraps ErrInvalid.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	if len(lines) == 1 {
		return "config: " + lines[0]
	}
	return fmt.Sprintf("config: %d problems:\n  %s", len(lines), strings.Join(lines, "\n  "))
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *Error) Unwrap() error { return ErrInvalid }

// Options change where Load reads from.
type Options struct {
	// Env looks up environment variables; nil means os.LookupEnv.
	Env func(string) (string, bool)
}

// Load reads path (skipped if empty) into dst, a pointer to a struct, then
// overlays BRINE_<KEY> environment variables and runs dst.Validate if any.
func Load(path string, dst any) error { return LoadWith(path, dst, Options{}) }

// LoadWith is Load with Options.
func LoadWith(path string, dst any, opts Options) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("config: destination must be a non-nil pointer to a struct, not %T", dst)
	}
	d := &decoder{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		d.source = path
		d.document(data, rv.Elem(), "")
	}
	env := opts.Env
	if env == nil {
		env = os.LookupEnv
	}
	d.overlayEnv(rv.Elem(), env)
	if len(d.problems) == 0 {
		if v, ok := dst.(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				src := path
				if src == "" {
					src = "environment"
				}
				d.problems = append(d.problems, Problem{Source: src, Msg: err.Error()})
			}
		}
	}
	if len(d.problems) > 0 {
		return &Error{Problems: d.problems}
	}
	return nil
}

// Decode decodes YAML data, named name in messages, into dst strictly,
// without the environment or Validate.
func Decode(name string, data []byte, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("config: destination must be a non-nil pointer, not %T", dst)
	}
	d := &decoder{source: name}
	d.document(data, rv.Elem(), "")
	if len(d.problems) > 0 {
		return &Error{Problems: d.problems}
	}
	return nil
}

var durationType = reflect.TypeFor[time.Duration]()

var dayRe = regexp.MustCompile(`^(-?)(\d+(?:\.\d+)?)d(.*)$`)

// ParseDuration is time.ParseDuration plus a leading day count: "90d",
// "1d12h", "1.5d".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	m := dayRe.FindStringSubmatch(s)
	if m == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (use e.g. 30s, 5m, 12h, 90d)", s)
		}
		return d, nil
	}
	days, err := strconv.ParseFloat(m[2], 64)
	if err != nil || days > 106_000 { // time.Duration holds about 292 years
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	d := time.Duration(days * float64(24*time.Hour))
	if m[3] != "" {
		rest, err := time.ParseDuration(m[3])
		if err != nil || rest < 0 {
			return 0, fmt.Errorf("invalid duration %q (use e.g. 30s, 5m, 12h, 90d)", s)
		}
		d += rest
	}
	if m[1] == "-" {
		d = -d
	}
	return d, nil
}
