package api

import (
	"context"
	"net/http"

	"github.com/brine-project/brine/pkg/api/types"
)

func (s *Server) listMinions(w http.ResponseWriter, r *http.Request, p *principal) error {
	ctx := r.Context()
	all, err := s.cfg.Backend.ListMinions(ctx)
	if err != nil {
		return err
	}
	out := make([]types.Minion, 0, len(all))
	for _, m := range all {
		ok, err := s.minionVisible(ctx, p, m.ID)
		if err != nil {
			return err
		}
		if ok {
			out = append(out, m)
		}
	}
	writeJSON(w, http.StatusOK, types.MinionList{Minions: out})
	return nil
}

func (s *Server) getMinion(w http.ResponseWriter, r *http.Request, p *principal) error {
	ctx := r.Context()
	id := r.PathValue("id")
	ok, err := s.minionVisible(ctx, p, id)
	if err != nil {
		return err
	}
	if !ok {
		return &httpError{status: http.StatusNotFound, code: types.CodeNotFound, msg: "minion " + id + " not found"}
	}
	m, err := s.cfg.Backend.GetMinion(ctx, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// minionVisible reports whether a token may see a minion: admin tokens see
// all, others the minions one of their permissions targets (grains tell an
// attacker a lot about a host it may not touch).
func (s *Server) minionVisible(ctx context.Context, p *principal, id string) (bool, error) {
	if p.admin {
		return true, nil
	}
	return s.covered(ctx, id, p.perms)
}
