package module

import (
	"errors"
	"fmt"

	"github.com/brine-project/brine/pkg/target"
)

// Result is what a function returns when it has a retcode to report with
// its value, as Salt functions do by setting __context__["retcode"]:
// cmd.run returns the command's output with the command's exit status as
// the job's retcode. Run may return Result or *Result; the minion unwraps it
// with RetcodeOf.
type Result struct {
	Return  any
	Retcode int
}

// RetcodeError is an error carrying the retcode to report (default 1).
type RetcodeError struct {
	Retcode int
	Err     error
}

func (e *RetcodeError) Error() string { return e.Err.Error() }
func (e *RetcodeError) Unwrap() error { return e.Err }

// RetcodeOf turns what Call returned into the job's return value and
// retcode, following Salt's minion:
//   - an error: its message is the return, retcode 1 (or a RetcodeError's
//     own code; 254 for an unknown function, as Salt's minion);
//   - a Result: its Return and Retcode;
//   - a map whose "result" or "success" key is false (a failed state run,
//     cmd-like dicts): retcode 1;
//   - anything else: retcode 0.
func RetcodeOf(v any, err error) (ret any, retcode int) {
	if err != nil {
		var re *RetcodeError
		switch {
		case errors.As(err, &re):
			return err.Error(), re.Retcode
		case errors.Is(err, ErrUnknownFunction):
			return fmt.Sprintf("%v (is it available on this minion?)", err), 254
		}
		return err.Error(), 1
	}
	switch r := v.(type) {
	case Result:
		return r.Return, r.Retcode
	case *Result:
		if r == nil {
			return nil, 0
		}
		return r.Return, r.Retcode
	case map[string]any:
		for _, k := range []string{"result", "success"} {
			if b, ok := r[k].(bool); ok && !b {
				return v, 1
			}
		}
	}
	return v, 0
}

// Traverse looks up a ':'-separated path ("a:b:c") in nested maps and lists
// as Salt's traverse_dict_and_list does, returning def when it is missing.
// grains.get and pillar.get use it; an empty delim means ":".
func Traverse(data any, path string, def any, delim string) any {
	return target.Traverse(data, path, def, delim)
}

// badArg is the error for an argument that passed Bind but is still wrong.
func badArg(fun, arg, format string, a ...any) error {
	return fmt.Errorf("%w: %s: argument %q: %s", ErrBadArgs, fun, arg, fmt.Sprintf(format, a...))
}
