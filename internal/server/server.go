// Package server is handoff's HTTP API (`handoff serve`): the contract in
// docs/api.md, on the same database as every other process. Workspaces
// arrive as trees of blobs or as tar.gz archives and are stored in the
// database; the server never reads a request's workspace path.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"golang.org/x/time/rate"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/internal/dashboard"
	"github.com/handoff-dev/handoff/internal/snapstore"
	"github.com/handoff-dev/handoff/internal/store"
)

// Config configures the API. Its zero value, with a Client, works.
type Config struct {
	Client *handoff.Client
	// Logger receives one line per request (never a token); nil discards.
	Logger *slog.Logger
	// Rate and Burst bound each token's requests (a token bucket). Zero
	// means DefaultRate and DefaultBurst.
	Rate  rate.Limit
	Burst int
	// Version is shown in the OpenAPI document.
	Version string
	// EventPoll is how often the server's feed of task changes reads the
	// database for changes no event announces. Zero means one second.
	EventPoll time.Duration
	// MetricsPublic serves GET /metrics without a token; otherwise it
	// needs an admin token.
	MetricsPublic bool
}

// The default per-token rate limit.
const (
	DefaultRate  rate.Limit = 20
	DefaultBurst int        = 40
)

// MaxJSONBody bounds a JSON request body.
const MaxJSONBody = 1 << 20

// MaxWait is the longest wait a result request may ask for.
const MaxWait = 60 * time.Second

// Server serves the API.
type Server struct {
	cfg    Config
	c      *handoff.Client
	snaps  *snapstore.Store
	tasks  *store.Store
	logger *slog.Logger
	api    huma.API
	mux    *http.ServeMux

	metrics *metrics
	feed    *feed
	stop    context.CancelFunc
	stopped context.Context // done once Close is called

	mu       sync.Mutex
	limiters map[string]*rate.Limiter // by token ID
}

type ctxKey struct{}

// New builds the API on cfg.Client.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	s := &Server{cfg: cfg, c: cfg.Client, snaps: cfg.Client.Snapshots(), tasks: cfg.Client.TaskStore(),
		logger: cfg.Logger, mux: http.NewServeMux(), limiters: map[string]*rate.Limiter{}}
	s.metrics = newMetrics(s)
	ctx, stop := context.WithCancel(context.Background())
	s.stop, s.stopped = stop, ctx
	s.feed = s.startFeed(ctx)
	hc := huma.DefaultConfig("handoff", cfg.Version)
	hc.Info.Description = "Hand unit-test generation to coding agents: upload a workspace, submit tasks, collect verified tests."
	hc.OpenAPIPath = "/openapi"
	hc.DocsPath = "/docs"
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "an API token from `handoff token create`"},
	}
	s.api = humago.New(s.mux, hc)
	s.api.UseMiddleware(s.authorize)
	s.routes()
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	s.mux.HandleFunc("GET /metrics", s.serveMetrics)
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, done := context.WithTimeout(r.Context(), 5*time.Second)
		defer done()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := s.c.Ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + err.Error()))
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	// The web dashboard: every path no route above claims.
	s.mux.Handle("/", dashboard.New(dashboard.Config{Client: cfg.Client, Logger: cfg.Logger}))
	return s
}

// Close stops the server's feed of task changes, ending its event
// streams, and ends the result waits in flight with 503, which clients
// retry: register it with http.Server.RegisterOnShutdown, so that no
// request outlives the shutdown's grace and meets a closed database.
func (s *Server) Close() { s.stop() }

// OpenAPI is the API's OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// ServeHTTP logs each request: method, path, status, duration and the
// token's name; never a header's value.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	var who tokenName
	r = r.WithContext(context.WithValue(r.Context(), tokenName{}, &who))
	s.mux.ServeHTTP(sw, r) // sets r.Pattern to the route that answered
	s.metrics.request(r.Pattern, sw.status)
	s.logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
		"duration_ms", time.Since(start).Milliseconds(), "token", who.name, "remote", r.RemoteAddr)
}

// tokenName carries the authenticated token's name from the middleware to
// the request's log line.
type tokenName struct{ name string }

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// scopeKey names the scope an operation needs in its Metadata.
const scopeKey = "handoff-scope"

// authorize checks the bearer token and its scope, and the token's rate.
func (s *Server) authorize(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	scope, _ := op.Metadata[scopeKey].(string)
	if scope == "" {
		next(ctx)
		return
	}
	tok, no := s.check(ctx.Context(), ctx.Header("Authorization"), scope)
	if no != nil {
		for k, v := range no.header {
			ctx.SetHeader(k, v)
		}
		_ = huma.WriteErr(s.api, ctx, no.status, no.detail)
		return
	}
	next(huma.WithValue(ctx, ctxKey{}, tok))
}

// authenticate is authorize for a handler outside the API's operations:
// the token, or nil once the refusal is written.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, scope string) *store.Token {
	tok, no := s.check(r.Context(), r.Header.Get("Authorization"), scope)
	if no == nil {
		return tok
	}
	for k, v := range no.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(no.status)
	_ = json.NewEncoder(w).Encode(map[string]any{"title": http.StatusText(no.status), "status": no.status, "detail": no.detail})
	return nil
}

// refusal is why a request may not go on: its status, what the client
// reads, and headers to set.
type refusal struct {
	status int
	detail string
	header map[string]string
}

// check authenticates auth, an Authorization header, for scope, within the
// token's rate.
func (s *Server) check(ctx context.Context, auth, scope string) (*store.Token, *refusal) {
	secret, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || secret == "" {
		return nil, &refusal{http.StatusUnauthorized, "no API token: send Authorization: Bearer <token>; create one with `handoff token create`",
			map[string]string{"WWW-Authenticate": `Bearer realm="handoff"`}}
	}
	t, err := s.tasks.Authenticate(ctx, strings.TrimSpace(secret))
	tok := &t
	if errors.Is(err, store.ErrBadToken) {
		return nil, &refusal{http.StatusUnauthorized, "the API token is unknown or revoked; create one with `handoff token create`",
			map[string]string{"WWW-Authenticate": `Bearer realm="handoff", error="invalid_token"`}}
	}
	if err != nil {
		s.logger.Error("authenticating a request", "error", err)
		return nil, &refusal{status: http.StatusServiceUnavailable, detail: "the database did not answer; try again"}
	}
	if who, ok := ctx.Value(tokenName{}).(*tokenName); ok {
		who.name = tok.Name
	}
	if !tok.Allows(scope) {
		return nil, &refusal{status: http.StatusForbidden, detail: "token " + tok.Name + " lacks the scope " + scope +
			" (it has " + strings.Join(tok.Scopes, ", ") + "); create a token with --scope " + scope}
	}
	if r := s.limiter(tok.ID).Reserve(); r.Delay() > 0 {
		r.Cancel()
		wait := max(1, int(r.Delay().Seconds()+0.999))
		return nil, &refusal{http.StatusTooManyRequests, "token " + tok.Name + " is over its rate limit; retry after " + strconv.Itoa(wait) + " s",
			map[string]string{"Retry-After": strconv.Itoa(wait)}}
	}
	return tok, nil
}

// limiter returns the token's rate limiter.
func (s *Server) limiter(id string) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.limiters[id]
	if !ok {
		l = rate.NewLimiter(s.cfg.Rate, s.cfg.Burst)
		s.limiters[id] = l
	}
	return l
}

// problem maps an error of the client or the snapshot store to its
// status; detail is the message the command line prints for it.
func problem(err error) error {
	var se huma.StatusError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return err
	case errors.Is(err, handoff.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.Is(err, handoff.ErrIdempotencyConflict):
		return huma.Error409Conflict(err.Error())
	case errors.Is(err, snapstore.ErrTooLarge):
		return huma.Error413RequestEntityTooLarge(err.Error())
	case errors.Is(err, snapstore.ErrBadEntry):
		return huma.Error400BadRequest(err.Error())
	case errors.Is(err, handoff.ErrInvalidRequest):
		var fe *handoff.FieldError
		if errors.As(err, &fe) {
			return huma.Error422UnprocessableEntity(err.Error(), &huma.ErrorDetail{Message: fe.Problem, Location: location(fe.Field)})
		}
		return huma.Error422UnprocessableEntity(err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return huma.Error503ServiceUnavailable("the request ended before an answer: " + err.Error())
	}
	return huma.Error500InternalServerError(err.Error())
}

// location names a request field as the API's JSON does:
// Request.MaxAttempts → body.request.max_attempts.
func location(field string) string {
	name, ok := strings.CutPrefix(field, "Request.")
	if !ok {
		return "body." + field
	}
	var b strings.Builder
	for i, r := range name {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return "body.request." + strings.ReplaceAll(b.String(), "u_s_d", "usd")
}
