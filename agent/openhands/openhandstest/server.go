package openhandstest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configures a stand-in server.
type Options struct {
	// APIKey, when set, is required: in X-Session-API-Key on the agent
	// server's routes, as a Bearer token (or X-Access-Token) on /api/v1.
	// Other requests answer 401.
	APIKey string
	// Scenario scripts every conversation, unless Choose is set.
	Scenario Scenario
	// Choose scripts each conversation from how it was created.
	Choose func(Start) Scenario
	// PathStyleOnly makes the server behave like releases before 1.12: the
	// query-style git and file routes answer 404.
	PathStyleOnly bool
	// QueryStyleOnly makes the server behave like current releases: the
	// path-style git and file routes answer 404.
	QueryStyleOnly bool
	// RateLimit makes the first RateLimit API requests answer 429 with the
	// Retry-After header RetryAfter (default "0").
	RateLimit  int
	RetryAfter string
	// ServerErrors makes the API requests after the rate-limited ones
	// answer 503, that many times.
	ServerErrors int
	// CloudWorkspace is the directory Cloud conversations work in (the
	// checked-out repository). Required for /api/v1 conversations.
	CloudWorkspace string
	// StartTaskPolls is how many start-task polls a Cloud start task stays
	// WORKING before READY. Zero means 1.
	StartTaskPolls int
	// Version is the server release /server_info reports. It decides the
	// base of /git/changes without ref, as the real servers do: before 1.35
	// the empty tree (every file is ADDED), from 1.35 HEAD (committed work
	// disappears). Default "1.43.1".
	Version string
	// CloudConfirmation makes Cloud conversations run with AlwaysConfirm,
	// as on accounts with confirmation mode on: every step waits for a
	// confirmation, which only the sandbox's own agent server takes
	// (conversation_url with session_api_key in X-Session-API-Key).
	CloudConfirmation bool
}

// Exchange is one request the server received and its answer.
type Exchange struct {
	Method, Path, RawQuery string
	RequestHeader          http.Header
	RequestBody            []byte
	Status                 int
	ResponseHeader         http.Header
	ResponseBody           []byte
}

// Server is a stand-in OpenHands agent server (and V1 app server) for
// tests, following the published OpenAPI documents.
type Server struct {
	*httptest.Server
	opts Options

	mu         sync.Mutex
	convs      map[string]*conv
	order      []string
	creates    int
	exchanges  []Exchange
	started    time.Time
	rateLeft   int
	errorsLeft int
	errorCode  int // what errorsLeft answer; 0 means 503
	down       bool
	startTasks map[string]*startTask
	restarts   int
}

// NewServer starts a stand-in server that t closes at its end.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Version == "" {
		opts.Version = "1.43.1"
	}
	s := &Server{opts: opts, convs: map[string]*conv{}, started: time.Now(), rateLeft: opts.RateLimit,
		errorsLeft: opts.ServerErrors, startTasks: map[string]*startTask{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Conversations returns every conversation created, oldest first.
func (s *Server) Conversations() []Conversation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Conversation, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.convs[id].snapshot())
	}
	return out
}

// Conversation returns one conversation by ID (dashed or 32-hex).
func (s *Server) Conversation(id string) (Conversation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookup(id)
	if c == nil {
		return Conversation{}, false
	}
	return c.snapshot(), true
}

// Creates counts the create requests received (repeated IDs included).
func (s *Server) Creates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creates
}

// Restarts counts the scripted server restarts.
func (s *Server) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

// Exchanges returns every request received so far and its answer.
func (s *Server) Exchanges() []Exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Exchange(nil), s.exchanges...)
}

// SetDown makes every request answer 503 while down is true.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// FailNext makes the next n API requests answer 503.
func (s *Server) FailNext(n int) { s.FailNextWith(n, 503) }

// FailNextWith makes the next n API requests answer code (a 5xx).
func (s *Server) FailNextWith(n, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errorsLeft, s.errorCode = n, code
}

// Restart simulates a server restart: running conversations reload as
// error and the uptime starts again.
func (s *Server) Restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.restart()
}

func (s *Server) restart() {
	s.restarts++
	s.started = time.Now()
	for _, c := range s.convs {
		if c.Status == "running" || c.Status == "waiting_for_confirmation" {
			c.Status = "error"
		}
	}
}

func (c *conv) snapshot() Conversation {
	out := c.Conversation
	out.Written = append([]string(nil), c.Written...)
	out.Confirmations = append([]bool(nil), c.Confirmations...)
	return out
}

// lookup finds a live conversation by dashed or 32-hex ID.
func (s *Server) lookup(id string) *conv {
	norm := func(v string) string { return strings.ToLower(strings.ReplaceAll(v, "-", "")) }
	if c, ok := s.convs[id]; ok && !c.Deleted {
		return c
	}
	for k, c := range s.convs {
		if norm(k) == norm(id) && !c.Deleted {
			return c
		}
	}
	return nil
}

// serve records the exchange and dispatches the request.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	s.dispatch(rec, r, body)
	s.mu.Lock()
	s.exchanges = append(s.exchanges, Exchange{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		RequestHeader: r.Header.Clone(), RequestBody: body, Status: rec.Code, ResponseHeader: rec.Header().Clone(),
		ResponseBody: rec.Body.Bytes()})
	s.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes()) //nolint:errcheck // the client went away
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, body []byte) {
	p := r.URL.Path
	switch p {
	case "/alive", "/health", "/ready":
		writeJSON(w, 200, map[string]any{"status": "ok"})
		return
	}
	if !s.authorized(r) {
		writeJSON(w, 401, map[string]any{"detail": "Unauthorized"})
		return
	}
	s.mu.Lock()
	switch {
	case s.down:
		s.mu.Unlock()
		writeJSON(w, 503, map[string]any{"detail": "Service Unavailable"})
		return
	case s.rateLeft > 0:
		s.rateLeft--
		s.mu.Unlock()
		ra := s.opts.RetryAfter
		if ra == "" {
			ra = "0"
		}
		w.Header().Set("Retry-After", ra)
		writeJSON(w, 429, map[string]any{"detail": "Too Many Requests"})
		return
	case s.errorsLeft > 0:
		s.errorsLeft--
		code := s.errorCode
		s.mu.Unlock()
		if code == 0 {
			code = 503
		}
		writeJSON(w, code, map[string]any{"detail": http.StatusText(code)})
		return
	}
	s.mu.Unlock()
	switch {
	case strings.HasPrefix(p, "/api/v1/"):
		s.serveCloud(w, r, body)
	case p == "/server_info":
		s.mu.Lock()
		up := time.Since(s.started).Seconds()
		s.mu.Unlock()
		writeJSON(w, 200, map[string]any{"uptime": up, "idle_time": 0.0, "title": "OpenHands Agent Server",
			"version": s.opts.Version, "docs": "/docs", "redoc": "/redoc"})
	case strings.HasPrefix(p, "/api/conversations"):
		s.serveConversations(w, r, body)
	case strings.HasPrefix(p, "/api/git/"), strings.HasPrefix(p, "/api/file/"), strings.HasPrefix(p, "/api/bash/"):
		s.serveFiles(w, r)
	default:
		notFound(w)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	key := s.opts.APIKey
	if key == "" {
		return true
	}
	if strings.HasPrefix(r.URL.Path, "/api/v1/") {
		return r.Header.Get("Authorization") == "Bearer "+key || r.Header.Get("X-Access-Token") == key
	}
	if r.Header.Get("X-Session-API-Key") == key {
		return true
	}
	// A Cloud sandbox's own agent server takes the sandbox's session key
	// for the conversations of that sandbox.
	got := r.Header.Get("X-Session-API-Key")
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path == "/server_info" {
		for _, c := range s.convs {
			if c.Cloud && got == c.sessionKey() {
				return true
			}
		}
	}
	rest := strings.TrimPrefix(r.URL.Path, "/api/conversations/")
	id, _, _ := strings.Cut(rest, "/")
	c := s.lookup(id)
	return rest != r.URL.Path && c != nil && c.Cloud && got == c.sessionKey()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // recorder
}

// notFound answers like FastAPI for an unknown route.
func notFound(w http.ResponseWriter) { writeJSON(w, 404, map[string]any{"detail": "Not Found"}) }

// validationError answers like FastAPI for a request that fails validation.
func validationError(w http.ResponseWriter, msg string) {
	writeJSON(w, 422, map[string]any{"detail": []any{map[string]any{"loc": []any{"body"}, "msg": msg, "type": "value_error"}}})
}
