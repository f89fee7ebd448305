package jobstore

import (
	"encoding/json"
	"fmt"
)

// EncodeArgs returns the job's Arg and Kwarg as JSON ([] and {} when nil),
// the form both stores keep them in.
func EncodeArgs(j Job) (arg, kwarg []byte, err error) {
	a := j.Arg
	if a == nil {
		a = []any{}
	}
	k := j.Kwarg
	if k == nil {
		k = map[string]any{}
	}
	if arg, err = json.Marshal(a); err != nil {
		return nil, nil, fmt.Errorf("%w: arg: %w", ErrInvalid, err)
	}
	if kwarg, err = json.Marshal(k); err != nil {
		return nil, nil, fmt.Errorf("%w: kwarg: %w", ErrInvalid, err)
	}
	return arg, kwarg, nil
}

// DecodeArgs is the inverse of EncodeArgs.
func DecodeArgs(j *Job, arg, kwarg []byte) error {
	j.Arg, j.Kwarg = []any{}, map[string]any{}
	if err := json.Unmarshal(arg, &j.Arg); err != nil {
		return fmt.Errorf("jobstore: decode arg: %w", err)
	}
	if err := json.Unmarshal(kwarg, &j.Kwarg); err != nil {
		return fmt.Errorf("jobstore: decode kwarg: %w", err)
	}
	return nil
}
