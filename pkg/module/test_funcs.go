package module

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/brine-project/brine/pkg/grains"
)

func init() {
	Default.Register(&Func{
		Name: "test.ping",
		Doc:  "Return True: the minion is up and answering.",
		Run:  func(context.Context, *Env, *Args) (any, error) { return true, nil },
	})
	Default.Register(&Func{
		Name: "test.true",
		Doc:  "Always return True.",
		Run:  func(context.Context, *Env, *Args) (any, error) { return true, nil },
	})
	Default.Register(&Func{
		Name: "test.false",
		Doc:  "Always return False.",
		Run:  func(context.Context, *Env, *Args) (any, error) { return false, nil },
	})
	Default.Register(&Func{
		Name: "test.echo",
		Doc:  "Return the string given.",
		Args: []Arg{{Name: "text", Kind: String, Required: true, Doc: "the text to echo back"}},
		Run:  func(_ context.Context, _ *Env, a *Args) (any, error) { return a.String("text"), nil },
	})
	Default.Register(&Func{
		Name: "test.sleep",
		Doc:  "Sleep for length seconds, then return True. A killed job stops sleeping at once.",
		Args: []Arg{{Name: "length", Kind: Float, Required: true, Doc: "seconds to sleep (fractions allowed)"}},
		Run:  testSleep,
	})
	Default.Register(&Func{
		Name: "test.version",
		Doc:  "Return the version of Brine the minion runs.",
		Run:  func(context.Context, *Env, *Args) (any, error) { return grains.Version, nil },
	})
	Default.Register(&Func{
		Name:      "test.arg",
		Doc:       "Return the positional and keyword arguments received, as {\"args\": [...], \"kwargs\": {...}}.",
		Varargs:   true,
		VarKwargs: true,
		Run: func(_ context.Context, _ *Env, a *Args) (any, error) {
			args := a.Extra
			if args == nil {
				args = []any{}
			}
			return map[string]any{"args": args, "kwargs": a.ExtraKw}, nil
		},
	})
	Default.Register(&Func{
		Name: "test.retcode",
		Doc:  "Return True with the given retcode as the job's retcode (to test failure handling).",
		Args: []Arg{{Name: "code", Kind: Int, Default: int64(42), Doc: "the retcode to report"}},
		Run: func(_ context.Context, _ *Env, a *Args) (any, error) {
			return Result{Return: true, Retcode: int(a.Int("code"))}, nil
		},
	})
	Default.Register(&Func{
		Name: "test.exception",
		Doc:  "Fail with the given message (to test error handling).",
		Args: []Arg{{Name: "message", Kind: String, Default: "test.exception called", Doc: "the error message"}},
		Run: func(_ context.Context, _ *Env, a *Args) (any, error) {
			return nil, errors.New(a.String("message"))
		},
	})
}

func testSleep(ctx context.Context, _ *Env, a *Args) (any, error) {
	length := a.Float("length")
	if length < 0 {
		return nil, badArg("test.sleep", "length", "must not be negative, got %v", length)
	}
	t := time.NewTimer(time.Duration(length * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return true, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("module: test.sleep: interrupted: %w", ctx.Err())
	}
}
