package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/brine-project/brine/pkg/api/types"
)

// Prefix is the path prefix every endpoint is served under.
const Prefix = "/api/v1"

// Route is one served endpoint: a method and a path pattern relative to
// Prefix in http.ServeMux syntax ("/jobs/{jid}").
type Route struct {
	Method string
	Path   string
	Admin  bool // needs an admin token
}

// Server is the API's http.Handler.
type Server struct {
	cfg    Config
	tokens []tokenEntry
	mux    *http.ServeMux
	routes []Route
	log    *slog.Logger

	streams atomic.Int64 // open GET /events streams
}

// New validates cfg (every token problem is reported at once) and returns
// the handler. Mount it at the root of the API listener: it serves
// Prefix+"/...".
func New(cfg Config) (*Server, error) {
	if cfg.Backend == nil {
		return nil, errors.New("api: config: Backend is required")
	}
	if cfg.Bus == nil {
		return nil, errors.New("api: config: Bus is required")
	}
	cfg.setDefaults()
	tokens, err := compileTokens(cfg.Tokens, cfg.AdminToken)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, tokens: tokens, mux: http.NewServeMux(), log: cfg.Logger}
	s.handle("POST", "/jobs", false, s.postJob)
	s.handle("GET", "/jobs", false, s.listJobs)
	s.handle("GET", "/jobs/{jid}", false, s.getJob)
	s.handle("GET", "/jobs/{jid}/wait", false, s.waitJob)
	s.handle("GET", "/minions", false, s.listMinions)
	s.handle("GET", "/minions/{id}", false, s.getMinion)
	s.handle("GET", "/keys", true, s.listKeys)
	s.handle("GET", "/keys/{id}", true, s.getKey)
	s.handle("GET", "/keys/{id}/finger", true, s.getKey)
	s.handle("POST", "/keys/{id}/accept", true, s.keyAction(actAccept))
	s.handle("POST", "/keys/{id}/reject", true, s.keyAction(actReject))
	s.handle("DELETE", "/keys/{id}", true, s.keyAction(actDelete))
	s.handle("POST", "/keys/accept-all", true, s.keyBulk(actAccept))
	s.handle("POST", "/keys/reject-all", true, s.keyBulk(actReject))
	s.handle("POST", "/keys/delete-all", true, s.keyBulk(actDelete))
	s.handle("GET", "/master/key", false, s.masterKey)
	s.handle("GET", "/events", false, s.events)
	s.handle("POST", "/hooks/{path...}", false, s.hook)
	s.handle("GET", "/health", false, s.health)
	s.mux.HandleFunc("/", s.notFound)
	return s, nil
}

// Routes returns every endpoint the server serves.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// handlerFunc is an endpoint: it writes its success answer itself and
// returns errors for the server to map to a status.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p *principal) error

func (s *Server) handle(method, path string, admin bool, h handlerFunc) {
	s.routes = append(s.routes, Route{Method: method, Path: path, Admin: admin})
	s.mux.HandleFunc(method+" "+Prefix+path, func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		if admin && !p.admin {
			s.fail(w, r, p, &httpError{status: http.StatusForbidden, code: types.CodeForbidden,
				msg: fmt.Sprintf("token %q is not an admin token: %s %s needs one", p.name, method, Prefix+path)})
			return
		}
		if err := h(w, r, p); err != nil {
			s.fail(w, r, p, err)
		}
	})
}

type ctxKey struct{}

func principalFrom(ctx context.Context) *principal {
	p, _ := ctx.Value(ctxKey{}).(*principal)
	return p
}

// ServeHTTP authenticates the request, then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(auth, " ")
	var p *principal
	if ok && strings.EqualFold(scheme, "Bearer") {
		p = lookup(s.tokens, strings.TrimSpace(secret))
	}
	if p == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="brine"`)
		msg := "missing bearer token (Authorization: Bearer <token>)"
		if auth != "" {
			msg = "invalid bearer token"
		}
		s.log.Info("api: unauthenticated request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("remote", r.RemoteAddr), slog.Bool("token_given", auth != ""))
		writeJSON(w, http.StatusUnauthorized, types.Error{Error: msg, Code: types.CodeUnauthorized})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
}

// notFound answers paths no route serves: 405 when the path exists for
// another method (the catch-all route hides the mux's own 405), else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "DELETE"} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pattern := s.mux.Handler(r2); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, types.Error{
			Error: fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")),
			Code:  types.CodeMethodNotAllowed})
		return
	}
	writeJSON(w, http.StatusNotFound, types.Error{Error: "no such endpoint: " + r.URL.Path, Code: types.CodeNotFound})
}

// httpError is an error with the status and code to answer it with.
type httpError struct {
	status int
	code   string
	msg    string
	field  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(field, format string, args ...any) *httpError {
	return &httpError{status: http.StatusBadRequest, code: types.CodeBadRequest, msg: fmt.Sprintf(format, args...), field: field}
}

func forbidden(format string, args ...any) *httpError {
	return &httpError{status: http.StatusForbidden, code: types.CodeForbidden, msg: fmt.Sprintf(format, args...)}
}

// shown is the text of a backend error the client may read, without the
// sentinel's package prefix ("api: not found: job 123" → "not found: job 123").
func shown(err error) string { return strings.TrimPrefix(err.Error(), "api: ") }

// toHTTPError maps an error to what the client sees. Texts of sentinel
// errors the backend chose to return are shown; anything else is hidden
// behind "internal error" (and logged by fail).
func toHTTPError(err error) *httpError {
	var he *httpError
	var fe *types.FieldError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &fe):
		return &httpError{status: http.StatusBadRequest, code: types.CodeBadRequest, msg: fe.Error(), field: fe.Field}
	case errors.As(err, &mbe):
		return &httpError{status: http.StatusRequestEntityTooLarge, code: types.CodeBadRequest, msg: fmt.Sprintf("request body over %d bytes", mbe.Limit)}
	case errors.Is(err, ErrNotFound):
		return &httpError{status: http.StatusNotFound, code: types.CodeNotFound, msg: shown(err)}
	case errors.Is(err, ErrNoMatch):
		return &httpError{status: http.StatusUnprocessableEntity, code: types.CodeNoMatch, msg: shown(err)}
	case errors.Is(err, ErrBadRequest):
		return &httpError{status: http.StatusBadRequest, code: types.CodeBadRequest, msg: shown(err)}
	case errors.Is(err, ErrConflict):
		return &httpError{status: http.StatusConflict, code: types.CodeConflict, msg: shown(err)}
	case errors.Is(err, ErrUnavailable):
		return &httpError{status: http.StatusServiceUnavailable, code: types.CodeUnavailable, msg: "the master's job store is unavailable; retry later"}
	case errors.Is(err, context.DeadlineExceeded):
		return &httpError{status: http.StatusGatewayTimeout, code: types.CodeUnavailable, msg: "the master did not answer in time"}
	default:
		return &httpError{status: http.StatusInternalServerError, code: types.CodeInternal, msg: "internal error"}
	}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, p *principal, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away: nobody to answer
	}
	he := toHTTPError(err)
	attrs := []any{slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", he.status)}
	if p != nil {
		attrs = append(attrs, slog.String("token", p.name))
	}
	switch {
	case he.status == http.StatusServiceUnavailable:
		// The store is down: health says so; one line per request is
		// enough, and an outage is not the API's error.
		s.log.Warn("api: request failed", append(attrs, slog.Any("error", err))...)
	case he.status >= 500:
		s.log.Error("api: request failed", append(attrs, slog.Any("error", err))...)
	case he.status == http.StatusForbidden:
		s.log.Info("api: request refused", append(attrs, slog.String("reason", he.msg))...)
	default:
		s.log.Debug("api: bad request", append(attrs, slog.String("reason", he.msg))...)
	}
	writeJSON(w, he.status, types.Error{Error: he.msg, Code: he.code, Field: he.field})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(types.Error{Error: "internal error: encode response", Code: types.CodeInternal})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// decodeJSON reads a request body strictly: unknown fields and trailing
// data are errors naming what is wrong.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var ute *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.As(err, &ute):
			return badRequest(ute.Field, "%s: want %s, got JSON %s", ute.Field, ute.Type, ute.Value)
		case errors.As(err, &se):
			return badRequest("", "request body is not valid JSON at byte %d: %v", se.Offset, err)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return badRequest(field, "unknown field %q", field)
		case errors.Is(err, io.EOF):
			return badRequest("", "request body is empty: want a JSON object")
		default:
			return badRequest("", "request body: %v", err)
		}
	}
	if dec.More() {
		return badRequest("", "request body has data after the JSON object")
	}
	return nil
}
