package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/brine-project/brine/pkg/api/types"
)

// defaultJobLimit is the page size of GET /jobs without ?limit.
const defaultJobLimit = 100

func (s *Server) postJob(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req types.JobRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := req.Normalize(); err != nil {
		return err
	}
	ctx := r.Context()
	allowed, err := s.authorizeJob(ctx, p, req)
	if err != nil {
		return err
	}
	if allowed != nil {
		ctx = context.WithValue(ctx, allowedKey{}, allowed)
	}
	job, err := s.cfg.Backend.Submit(ctx, req, p.name)
	if err != nil {
		return err
	}
	s.log.Info("api: job submitted", slog.String("jid", job.JID), slog.String("fun", req.Fun),
		slog.String("tgt", req.Tgt), slog.String("tgt_type", req.TgtType), slog.String("token", p.name),
		slog.Int("expected", len(job.Expected)))
	w.Header().Set("Location", Prefix+"/jobs/"+job.JID)
	if !req.Wait {
		writeJSON(w, http.StatusAccepted, fillJob(job))
		return nil
	}
	noWriteDeadline(w)
	done, err := s.cfg.Backend.Wait(ctx, job.JID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fillJob(done))
	return nil
}

type allowedKey struct{}

// AuthorizedMinions returns, inside Backend.Submit, the minions a restricted
// (non-admin) token was authorized to run the job on; restricted is false
// for admin tokens. The API resolves the target and checks every minion
// before Submit; a backend that publishes the job to exactly these minions
// (tgt_type list) and expects only them closes the gap in which the minion
// cache changes between that check and the publish (a minion that starts
// matching the target meanwhile would otherwise run the job unchecked).
func AuthorizedMinions(ctx context.Context) (minions []string, restricted bool) {
	m, ok := ctx.Value(allowedKey{}).([]string)
	return m, ok
}

// noWriteDeadline lifts the server's WriteTimeout for a response that
// legitimately takes long (a wait), where the client's own context is the
// bound. Servers without deadlines ignore it.
func noWriteDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
}

// authorizeJob refuses a job unless every minion the target resolves to is
// covered by one permission of the token that allows the function, and
// returns those minions. Admin tokens may run anything (nil, nil).
func (s *Server) authorizeJob(ctx context.Context, p *principal, req types.JobRequest) ([]string, error) {
	if p.admin {
		return nil, nil
	}
	var perms []compiledPerm
	for _, perm := range p.perms {
		if perm.allowsFun(req.Fun) {
			perms = append(perms, perm)
		}
	}
	if len(perms) == 0 {
		return nil, forbidden("token %q may not run function %q on any minion", p.name, req.Fun)
	}
	minions, err := s.cfg.Backend.Resolve(ctx, req.Tgt, req.TgtType)
	if err != nil {
		return nil, err
	}
	if len(minions) == 0 {
		return nil, noMatch(req)
	}
	for _, m := range minions {
		ok, err := s.covered(ctx, m, perms)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, forbidden("token %q may not run function %q on minion %q (target %q matches it)", p.name, req.Fun, m, req.Tgt)
		}
	}
	return minions, nil
}

// covered reports whether minion matches the target of one of perms.
func (s *Server) covered(ctx context.Context, minion string, perms []compiledPerm) (bool, error) {
	for _, perm := range perms {
		ok, err := s.cfg.Backend.MatchMinion(ctx, minion, perm.target)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

func noMatch(req types.JobRequest) error {
	return &httpError{status: http.StatusUnprocessableEntity, code: types.CodeNoMatch,
		msg: "target " + strconv.Quote(req.Tgt) + " (" + req.TgtType + ") matched no minion"}
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, p *principal) error {
	f, err := types.ParseJobFilter(r.URL.Query(), time.Now())
	if err != nil {
		return err
	}
	if !p.admin {
		// Job history shows functions, arguments and returns: a restricted
		// token sees only the jobs it submitted.
		if f.User != "" && f.User != p.name {
			return forbidden("token %q may list only its own jobs (user=%s)", p.name, p.name)
		}
		f.User = p.name
	}
	if f.Limit == 0 {
		f.Limit = defaultJobLimit
	}
	list, err := s.cfg.Backend.ListJobs(r.Context(), f)
	if err != nil {
		return err
	}
	if list.Jobs == nil {
		list.Jobs = []types.JobSummary{}
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// visibleJob fetches a job, hiding other users' jobs from restricted tokens
// as if they did not exist.
func (s *Server) visibleJob(ctx context.Context, p *principal, jid string) (*types.JobDetail, error) {
	job, err := s.cfg.Backend.GetJob(ctx, jid)
	if err != nil {
		return nil, err
	}
	if !p.admin && job.User != p.name {
		return nil, &httpError{status: http.StatusNotFound, code: types.CodeNotFound, msg: "job " + jid + " not found"}
	}
	return job, nil
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, p *principal) error {
	job, err := s.visibleJob(r.Context(), p, r.PathValue("jid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fillJob(job))
	return nil
}

// waitJob blocks until the job is complete, the request's context ends, or
// the optional ?timeout (seconds) passes; in the last case it answers 200
// with the job as it stands (status running).
func (s *Server) waitJob(w http.ResponseWriter, r *http.Request, p *principal) error {
	jid := r.PathValue("jid")
	job, err := s.visibleJob(r.Context(), p, jid)
	if err != nil {
		return err
	}
	if job.Status != types.JobComplete {
		ctx := r.Context()
		if t := r.URL.Query().Get("timeout"); t != "" {
			secs, err := strconv.ParseFloat(t, 64)
			if err != nil || secs <= 0 {
				return badRequest("timeout", "timeout: want a positive number of seconds, got %q", t)
			}
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Duration(secs*float64(time.Second)))
			defer cancel()
		}
		noWriteDeadline(w)
		done, err := s.cfg.Backend.Wait(ctx, jid)
		switch {
		case err == nil:
			job = done
		case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
			if job, err = s.cfg.Backend.GetJob(r.Context(), jid); err != nil {
				return err
			}
		default:
			return err
		}
	}
	writeJSON(w, http.StatusOK, fillJob(job))
	return nil
}

// fillJob makes empty collections [] and {} rather than null, so clients
// can index them without checks.
func fillJob(j *types.JobDetail) *types.JobDetail {
	if j.Arg == nil {
		j.Arg = []any{}
	}
	if j.Expected == nil {
		j.Expected = []string{}
	}
	if j.Returns == nil {
		j.Returns = map[string]types.MinionReturn{}
	}
	if j.NoReturn == nil {
		j.NoReturn = []types.NoReturnEntry{}
	}
	return j
}
