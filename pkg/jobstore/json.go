package jobstore

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// Durations travel as float seconds in JSON, the unit Salt and scripts use.

type jobJSON struct {
	jobAlias
	Timeout float64 `json:"timeout"`
}

type jobAlias Job

// MarshalJSON encodes the job with its timeout in float seconds.
func (j Job) MarshalJSON() ([]byte, error) {
	return json.Marshal(jobJSON{jobAlias: jobAlias(j), Timeout: j.Timeout.Seconds()})
}

// UnmarshalJSON decodes what MarshalJSON produces.
func (j *Job) UnmarshalJSON(b []byte) error {
	var v jobJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*j = Job(v.jobAlias)
	j.Timeout = seconds(v.Timeout)
	return nil
}

// MarshalJSON encodes the job detail; it is needed because the embedded
// Job's MarshalJSON would otherwise hide Returns and NoReturn.
func (d JobDetail) MarshalJSON() ([]byte, error) {
	job, err := d.Job.MarshalJSON()
	if err != nil {
		return nil, err
	}
	rest, err := json.Marshal(struct {
		Returns  []Return   `json:"returns"`
		NoReturn []NoReturn `json:"no_return"`
	}{nonNil(d.Returns), nonNil(d.NoReturn)})
	if err != nil {
		return nil, err
	}
	// Splice the two objects: {job...} + {rest...}.
	out := make([]byte, 0, len(job)+len(rest))
	out = append(out, job[:len(job)-1]...)
	out = append(out, ',')
	return append(out, rest[1:]...), nil
}

// UnmarshalJSON decodes what MarshalJSON produces.
func (d *JobDetail) UnmarshalJSON(b []byte) error {
	if err := d.Job.UnmarshalJSON(b); err != nil {
		return err
	}
	var rest struct {
		Returns  []Return   `json:"returns"`
		NoReturn []NoReturn `json:"no_return"`
	}
	if err := json.Unmarshal(b, &rest); err != nil {
		return err
	}
	d.Returns, d.NoReturn = rest.Returns, rest.NoReturn
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

type returnAlias Return

type returnJSON struct {
	returnAlias
	Duration float64 `json:"duration"`
}

// MarshalJSON encodes the return with its duration in float seconds and an
// empty Return as null.
func (r Return) MarshalJSON() ([]byte, error) {
	v := returnJSON{returnAlias: returnAlias(r), Duration: r.Duration.Seconds()}
	if len(v.Return) == 0 {
		v.Return = json.RawMessage("null")
	}
	return json.Marshal(v)
}

// UnmarshalJSON decodes what MarshalJSON produces.
func (r *Return) UnmarshalJSON(b []byte) error {
	var v returnJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Return(v.returnAlias)
	r.Duration = seconds(v.Duration)
	return nil
}

type eventAlias Event

// MarshalJSON encodes an event with empty Data as null.
func (e Event) MarshalJSON() ([]byte, error) {
	v := eventAlias(e)
	if len(v.Data) == 0 {
		v.Data = json.RawMessage("null")
	}
	return json.Marshal(v)
}

func seconds(f float64) time.Duration {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return time.Duration(math.Round(f * float64(time.Second)))
}

// JSONOrNull returns raw if it is valid JSON, "null" if it is empty, and an
// ErrInvalid error otherwise. Stores use it to validate before writing.
func JSONOrNull(raw []byte) ([]byte, error) {
	if len(raw) == 0 {
		return []byte("null"), nil
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("%w: not valid JSON", ErrInvalid)
	}
	return raw, nil
}

// GlobRegexp translates a shell glob (* ? [...] [!...] as in Salt's
// fnmatch-based tag matching) into an anchored regular expression valid in
// both RE2 and PostgreSQL's regex syntax. "" translates to "" (match all).
// A glob with a malformed class is matched literally.
func GlobRegexp(glob string) string {
	if glob == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		c := glob[i]
		switch c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			class, n := globClass(glob[i+1:])
			if n == 0 {
				b.WriteString(`\[`)
				continue
			}
			b.WriteString(class)
			i += n
		default:
			b.WriteString(regexp.QuoteMeta(glob[i : i+1])) // bytewise: keeps UTF-8 intact
		}
	}
	b.WriteString("$")
	re := b.String()
	if _, err := regexp.Compile(re); err != nil {
		return "^" + regexp.QuoteMeta(glob) + "$"
	}
	return re
}

// globClass translates the bracket expression after a '[' and returns it
// with the number of bytes consumed (0 when there is no closing bracket).
// As in fnmatch, a ']' right after '[' or '[!' is literal.
func globClass(s string) (string, int) {
	var b strings.Builder
	b.WriteString("[")
	i := 0
	if i < len(s) && s[i] == '!' {
		b.WriteString("^")
		i++
	}
	for first := true; i < len(s); i, first = i+1, false {
		c := s[i]
		switch {
		case c == ']' && !first:
			return b.String() + "]", i + 1
		case c == '\\' || c == '[' || c == ']' || c == '^':
			b.WriteString(`\` + string(c))
		default:
			b.WriteByte(c)
		}
	}
	return "", 0
}
