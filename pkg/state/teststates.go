package state

import (
	"context"
	"math/rand/v2"
)

func init() {
	for _, f := range []*Func{
		{Name: "test.nop", Doc: "Does nothing and succeeds.", VarKwargs: true, Run: func(_ context.Context, c *Call) Ret {
			return Ret{Result: True, Comment: "Success!"}
		}},
		{Name: "test.succeed_without_changes", Doc: "Succeeds without changes.", VarKwargs: true, Run: func(_ context.Context, c *Call) Ret {
			if c.Test {
				return Ret{Result: True, Comment: "If we weren't testing, this would be a success!"}
			}
			return Ret{Result: True, Comment: "Success!"}
		}, ModWatch: testModWatch},
		{Name: "test.succeed_with_changes", Doc: "Succeeds with pretend changes.", VarKwargs: true, Run: func(_ context.Context, c *Call) Ret {
			if c.Test {
				return Ret{Result: None, Changes: pretendChanges(), Comment: "If we weren't testing, this would be successful with changes"}
			}
			return Ret{Result: True, Changes: pretendChanges(), Comment: "Success!"}
		}, ModWatch: testModWatch},
		{Name: "test.fail_without_changes", Doc: "Fails without changes.", VarKwargs: true, Run: func(_ context.Context, c *Call) Ret {
			if c.Test {
				return Ret{Result: False, Comment: "If we weren't testing, this would be a failure!"}
			}
			return Ret{Result: False, Comment: "Failure!"}
		}, ModWatch: testModWatch},
		{Name: "test.fail_with_changes", Doc: "Fails with pretend changes.", VarKwargs: true, Run: func(_ context.Context, c *Call) Ret {
			if c.Test {
				return Ret{Result: None, Changes: pretendChanges(), Comment: "If we weren't testing, this would be failed with changes"}
			}
			return Ret{Result: False, Changes: pretendChanges(), Comment: "Failure!"}
		}, ModWatch: testModWatch},
		{Name: "test.show_notification", Doc: "Succeeds with text as comment.", Args: []Arg{{Name: "text", Kind: String}}, Run: func(_ context.Context, c *Call) Ret {
			return Ret{Result: True, Comment: c.Args.String("text")}
		}},
		{Name: "test.configurable_test_state", Doc: "Returns the changes, result and comment asked for.", Args: []Arg{
			{Name: "changes", Kind: Any, Default: true, Doc: "true, false or \"Random\""},
			{Name: "result", Kind: Any, Default: true, Doc: "true, false or \"Random\""},
			{Name: "comment", Kind: String},
			{Name: "allow_test_mode_failure", Kind: Bool, Default: false},
		}, Run: configurableTestState, ModWatch: testModWatch},
	} {
		Default.Register(f)
	}
}

func pretendChanges() map[string]any {
	return map[string]any{"testing": map[string]any{"old": "Unchanged", "new": "Something pretended to change"}}
}

func testModWatch(_ context.Context, c *Call) Ret {
	return Ret{Result: True, Comment: "Watch statement fired."}
}

func randomOr(v any) bool {
	if s, ok := v.(string); ok && (s == "Random" || s == "random") {
		return rand.IntN(2) == 0
	}
	return truthy(v)
}

func configurableTestState(_ context.Context, c *Call) Ret {
	ret := Ret{Result: True, Comment: c.Args.String("comment")}
	if randomOr(c.Args.Get("changes")) {
		ret.Changes = pretendChanges()
	}
	if !randomOr(c.Args.Get("result")) {
		ret.Result = False
	}
	if c.Test {
		if ret.Result == False && c.Args.Bool("allow_test_mode_failure") {
			return ret
		}
		ret.Result = True
		if len(ret.Changes) > 0 {
			ret.Result = None
		}
		if ret.Comment == "" {
			ret.Comment = "This is a test"
		}
	}
	return ret
}
