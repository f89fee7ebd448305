package types

import (
	"net/url"
	"strconv"
	"time"
)

// JobFilter selects jobs for GET /jobs. Zero fields select everything.
type JobFilter struct {
	Fun     string    // exact function name
	Minion  string    // jobs that expected this minion
	User    string    // jobs submitted by this token name
	Since   time.Time // created at or after
	Until   time.Time // created before
	Success *bool     // jobs whose every expected minion succeeded (true) or not (false); only complete jobs
	Limit   int       // page size; 0 means the server's default
	Cursor  string    // JobList.Next of the previous page
}

// MaxJobLimit caps JobFilter.Limit.
const MaxJobLimit = 1000

// Query encodes the filter as GET /jobs query parameters.
func (f JobFilter) Query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("fun", f.Fun)
	set("minion", f.Minion)
	set("user", f.User)
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	if f.Success != nil {
		q.Set("success", strconv.FormatBool(*f.Success))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	set("cursor", f.Cursor)
	return q
}

// ParseJobFilter decodes GET /jobs query parameters, returning a *FieldError
// naming the first bad parameter. since and until are RFC 3339 times or
// durations back from now ("1h", "30m").
func ParseJobFilter(q url.Values, now time.Time) (JobFilter, error) {
	f := JobFilter{Fun: q.Get("fun"), Minion: q.Get("minion"), User: q.Get("user"), Cursor: q.Get("cursor")}
	var err error
	if f.Since, err = ParseTime(q.Get("since"), now); err != nil {
		return f, &FieldError{"since", err.Error()}
	}
	if f.Until, err = ParseTime(q.Get("until"), now); err != nil {
		return f, &FieldError{"until", err.Error()}
	}
	if s := q.Get("success"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return f, &FieldError{"success", "want true or false"}
		}
		f.Success = &b
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxJobLimit {
			return f, &FieldError{"limit", "want an integer from 1 to " + strconv.Itoa(MaxJobLimit)}
		}
		f.Limit = n
	}
	return f, nil
}

// ParseTime parses an RFC 3339 time, a date (2006-01-02), or a duration
// before now ("90m", "2h"). "" is the zero time.
func ParseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, &timeError{s}
}

type timeError struct{ s string }

func (e *timeError) Error() string {
	return "want an RFC 3339 time, a date or a duration like 2h, got " + strconv.Quote(e.s)
}
