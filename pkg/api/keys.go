package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"

	"github.com/brine-project/brine/pkg/api/types"
)

type keyAct int

const (
	actAccept keyAct = iota
	actReject
	actDelete
)

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, _ *principal) error {
	keys, err := s.cfg.Backend.ListKeys(r.Context())
	if err != nil {
		return err
	}
	if st := r.URL.Query().Get("state"); st != "" {
		if !slices.Contains([]string{types.KeyPending, types.KeyAccepted, types.KeyRejected, types.KeyDenied}, st) {
			return badRequest("state", "state: want pending, accepted, rejected or denied, got %q", st)
		}
		keys = slices.DeleteFunc(keys, func(k types.Key) bool { return k.State != st })
	}
	if keys == nil {
		keys = []types.Key{}
	}
	writeJSON(w, http.StatusOK, types.KeyList{Keys: keys})
	return nil
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request, _ *principal) error {
	k, err := s.cfg.Backend.GetKey(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k)
	return nil
}

func (s *Server) masterKey(w http.ResponseWriter, r *http.Request, _ *principal) error {
	k, err := s.cfg.Backend.MasterKey(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k)
	return nil
}

// apply runs one key action and returns the key afterwards (nil for delete).
func (s *Server) apply(ctx context.Context, act keyAct, id string) (*types.Key, error) {
	switch act {
	case actAccept:
		return s.cfg.Backend.AcceptKey(ctx, id)
	case actReject:
		return s.cfg.Backend.RejectKey(ctx, id)
	default:
		return nil, s.cfg.Backend.DeleteKey(ctx, id)
	}
}

func (s *Server) keyAction(act keyAct) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *principal) error {
		id := r.PathValue("id")
		k, err := s.apply(r.Context(), act, id)
		if err != nil {
			return err
		}
		s.log.Info("api: key changed", slog.String("key", id), slog.String("action", act.String()), slog.String("token", p.name))
		if k == nil {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		writeJSON(w, http.StatusOK, k)
		return nil
	}
}

func (act keyAct) String() string { return [...]string{"accept", "reject", "delete"}[act] }

// keyBulk applies an action to every pending key (accept, reject), as
// salt-key -A and -R do, or to every key (delete, as salt-key -D). It
// answers the keys it changed; a key that changed state meanwhile
// (ErrConflict, ErrNotFound) is skipped rather than failing the rest.
func (s *Server) keyBulk(act keyAct) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *principal) error {
		ctx := r.Context()
		keys, err := s.cfg.Backend.ListKeys(ctx)
		if err != nil {
			return err
		}
		changed := []types.Key{}
		for _, k := range keys {
			if act != actDelete && k.State != types.KeyPending {
				continue
			}
			after, err := s.apply(ctx, act, k.ID)
			if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if after == nil {
				after = &k
			}
			changed = append(changed, *after)
			s.log.Info("api: key changed", slog.String("key", k.ID), slog.String("action", act.String()), slog.String("token", p.name))
		}
		writeJSON(w, http.StatusOK, types.KeyList{Keys: changed})
		return nil
	}
}
