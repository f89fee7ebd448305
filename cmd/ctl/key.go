package main

import (
	"context"
	"fmt"

	"github.com/brine-project/brine/pkg/api/types"
)

// cmdKey manages minion keys like salt-key:
//
//	key list [--state STATE]
//	key accept|reject|delete ID... | --all
//	key finger [ID]
func cmdKey(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("key needs a subcommand: list, accept, reject, delete, finger")
	}
	sub := args[0]
	fs := a.flagSet("key " + sub)
	var all bool
	var state string
	switch sub {
	case "list":
		fs.StringVar(&state, "state", "", "only keys in this state: pending, accepted, rejected, denied")
	case "accept", "reject":
		fs.BoolVar(&all, "all", false, "every pending key")
	case "delete":
		fs.BoolVar(&all, "all", false, "every key")
	case "finger":
	default:
		return usagef("key %q: want list, accept, reject, delete or finger", sub)
	}
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		if len(pos) > 0 {
			return usagef("key list takes no arguments")
		}
	case "finger":
		if len(pos) > 1 {
			return usagef("key finger takes at most one ID")
		}
	default:
		if all == (len(pos) > 0) {
			return usagef("key %s needs minion IDs or --all (not both)", sub)
		}
	}
	if err := a.connect(outTable); err != nil {
		return err
	}
	switch sub {
	case "list":
		keys, err := a.client.Keys(ctx, state)
		if err != nil {
			return err
		}
		return a.printKeys(keys, false)
	case "finger":
		return keyFinger(ctx, a, pos)
	}
	return keyChange(ctx, a, sub, pos, all)
}

func keyChange(ctx context.Context, a *app, sub string, ids []string, all bool) error {
	var changed []types.Key
	if all {
		var err error
		switch sub {
		case "accept":
			changed, err = a.client.AcceptAllKeys(ctx)
		case "reject":
			changed, err = a.client.RejectAllKeys(ctx)
		default:
			changed, err = a.client.DeleteAllKeys(ctx)
		}
		if err != nil {
			return err
		}
	} else {
		for _, id := range ids {
			var k *types.Key
			var err error
			switch sub {
			case "accept":
				k, err = a.client.AcceptKey(ctx, id)
			case "reject":
				k, err = a.client.RejectKey(ctx, id)
			default:
				err = a.client.DeleteKey(ctx, id)
				k = &types.Key{ID: id, State: "deleted"}
			}
			if err != nil {
				return err
			}
			changed = append(changed, *k)
		}
	}
	if len(changed) == 0 && a.out == outTable {
		fmt.Fprintf(a.stderr, "no key to %s\n", sub)
	}
	if changed == nil {
		changed = []types.Key{}
	}
	return a.printData(types.KeyList{Keys: changed}, func() error {
		for _, k := range changed {
			fmt.Fprintf(a.stdout, "%s: %s\n", k.ID, k.State)
		}
		return nil
	})
}

func keyFinger(ctx context.Context, a *app, ids []string) error {
	if len(ids) == 1 {
		k, err := a.client.Key(ctx, ids[0])
		if err != nil {
			return err
		}
		return a.printData(k, func() error {
			_, err := fmt.Fprintf(a.stdout, "%s (%s): %s\n", k.ID, k.State, k.Fingerprint)
			return err
		})
	}
	master, err := a.client.MasterKey(ctx)
	if err != nil {
		return err
	}
	keys, err := a.client.Keys(ctx, "")
	if err != nil {
		return err
	}
	return a.printKeys(append([]types.Key{*master}, keys...), true)
}

// printKeys prints keys grouped by state as salt-key does (with their
// fingerprints when finger).
func (a *app) printKeys(keys []types.Key, finger bool) error {
	if keys == nil {
		keys = []types.Key{}
	}
	return a.printData(types.KeyList{Keys: keys}, func() error {
		groups := []struct{ state, title, color string }{
			{types.KeyMaster, "Local Keys:", cBold},
			{types.KeyAccepted, "Accepted Keys:", cGreen},
			{types.KeyDenied, "Denied Keys:", cRed},
			{types.KeyPending, "Unaccepted Keys:", cRed},
			{types.KeyRejected, "Rejected Keys:", cYellow},
		}
		for _, g := range groups {
			var lines []string
			for _, k := range keys {
				if k.State != g.state {
					continue
				}
				l := k.ID
				if finger {
					l += "  " + k.Fingerprint
				}
				lines = append(lines, l)
			}
			if g.state == types.KeyMaster && len(lines) == 0 {
				continue
			}
			fmt.Fprintln(a.stdout, a.color(cBold, g.title))
			for _, l := range lines {
				fmt.Fprintln(a.stdout, a.color(g.color, l))
			}
		}
		return nil
	})
}
