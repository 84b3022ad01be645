package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/handoff-dev/handoff/internal/store"
)

// The cookies: the session's opaque ID, and the login form's own CSRF
// value (there is no session yet to hold one).
const (
	sessionCookie = "handoff_session"
	loginCookie   = "handoff_login"
)

// maxSessions bounds the sessions held in memory; the oldest goes first.
const maxSessions = 10000

// session is a sign-in: the token it was opened with, by ID only.
type session struct {
	id      string
	tokenID string
	csrf    string
	expires time.Time
}

type sessions struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{ttl: ttl, m: map[string]*session{}}
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) open(tokenID string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if len(s.m) >= maxSessions {
		var oldest *session
		for id, ss := range s.m {
			if now.After(ss.expires) {
				delete(s.m, id)
			} else if oldest == nil || ss.expires.Before(oldest.expires) {
				oldest = ss
			}
		}
		if len(s.m) >= maxSessions && oldest != nil {
			delete(s.m, oldest.id)
		}
	}
	ss := &session{id: randomString(), tokenID: tokenID, csrf: randomString(), expires: now.Add(s.ttl)}
	s.m[ss.id] = ss
	return ss
}

func (s *sessions) get(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[id]
	if !ok {
		return nil
	}
	if time.Now().After(ss.expires) {
		delete(s.m, id)
		return nil
	}
	return ss
}

func (s *sessions) close(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// viewer is who is looking: a live token, through a session or a bearer
// header (session nil).
type viewer struct {
	token   store.Token
	session *session
}

// Name is the token's name.
func (v *viewer) Name() string { return v.token.Name }

// Can reports whether the viewer's token holds scope.
func (v *viewer) Can(scope string) bool { return v.token.Allows(scope) }

var errNoViewer = errors.New("not signed in")

// identify finds the viewer of r: its bearer token, else its session.
func (d *Dashboard) identify(r *http.Request) (*viewer, error) {
	ctx := r.Context()
	if secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		tok, err := d.store.Authenticate(ctx, strings.TrimSpace(secret))
		if errors.Is(err, store.ErrBadToken) {
			return nil, errNoViewer
		}
		if err != nil {
			return nil, err
		}
		return &viewer{token: tok}, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, errNoViewer
	}
	ss := d.sessions.get(c.Value)
	if ss == nil {
		return nil, errNoViewer
	}
	tok, err := d.store.LiveToken(ctx, ss.tokenID)
	if errors.Is(err, store.ErrBadToken) {
		d.sessions.close(ss.id) // the token was revoked: so is the sign-in
		return nil, errNoViewer
	}
	if err != nil {
		return nil, err
	}
	return &viewer{token: tok, session: ss}, nil
}

// auth lets through viewers whose token holds scope. Others get the login
// page (a page) or 401 (the feeds). A request that changes something must
// also pass the cross-origin check and, from a session, carry its CSRF
// token.
func (d *Dashboard) auth(scope string, h func(http.ResponseWriter, *http.Request, *viewer)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := d.identify(r)
		if errors.Is(err, errNoViewer) {
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/events") && !strings.HasSuffix(r.URL.Path, "/log") &&
				r.URL.Path != "/tasks/rows" {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="handoff"`)
			http.Error(w, "not signed in: sign in at /login, or send Authorization: Bearer <token>", http.StatusUnauthorized)
			return
		}
		if err != nil {
			d.logger.Error("authenticating a dashboard request", "error", err)
			http.Error(w, "the database did not answer; try again", http.StatusServiceUnavailable)
			return
		}
		if !isSafe(r.Method) && !d.sameOrigin(w, r, v) {
			return
		}
		if !v.Can(scope) {
			d.fail(w, r, v, http.StatusForbidden, "Token "+v.Name()+" lacks the scope "+scope+" (it has "+
				strings.Join(v.token.Scopes, ", ")+"); sign in with a token that has it.")
			return
		}
		h(w, r, v)
	})
}

func isSafe(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// sameOrigin refuses, with 403, a state-changing request from another site
// (Sec-Fetch-Site, else Origin against Host) and, from a session, one
// without the session's CSRF token.
func (d *Dashboard) sameOrigin(w http.ResponseWriter, r *http.Request, v *viewer) bool {
	if err := d.origin.Check(r); err != nil {
		http.Error(w, "refused: a cross-site request may not change anything here", http.StatusForbidden)
		return false
	}
	if v != nil && v.session != nil {
		got := r.PostFormValue("csrf")
		if subtle.ConstantTimeCompare([]byte(got), []byte(v.session.csrf)) != 1 {
			http.Error(w, "refused: the form's CSRF token is missing or stale; reload the page and try again", http.StatusForbidden)
			return false
		}
	}
	return true
}

// secure says the cookie should be Secure: served over TLS, directly or
// through a proxy that says so.
func secure(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	// The value already set, if any: another tab, or a second load of the
	// page, must not make an open form stale.
	csrf := randomString()
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) == len(csrf) {
		csrf = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: csrf, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure(r), MaxAge: 3600})
	d.render(w, r, http.StatusOK, "login", page{Title: "Sign in", CSRF: csrf,
		Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}})
}

type loginData struct {
	Next, Error string
}

// login checks the token and opens a session.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if !d.sameOrigin(w, r, nil) {
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		http.Error(w, "refused: the sign-in form's CSRF token is missing or stale; reload /login and try again", http.StatusForbidden)
		return
	}
	next := safeNext(r.PostFormValue("next"))
	again := func(msg string) {
		csrf := randomString()
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: csrf, Path: "/login", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: secure(r), MaxAge: 3600})
		d.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in", CSRF: csrf, Data: loginData{Next: next, Error: msg}})
	}
	tok, err := d.store.Authenticate(r.Context(), strings.TrimSpace(r.PostFormValue("token")))
	if errors.Is(err, store.ErrBadToken) {
		again("That token is unknown or revoked. Create one with `handoff token create --scope read`.")
		return
	}
	if err != nil {
		d.logger.Error("signing in to the dashboard", "error", err)
		again("The database did not answer; try again.")
		return
	}
	if !tok.Allows(store.ScopeRead) {
		again("Token " + tok.Name + " lacks the scope read; the dashboard needs it.")
		return
	}
	ss := d.sessions.open(tok.ID)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: ss.id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure(r), Expires: ss.expires})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/login", MaxAge: -1})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, v *viewer) {
	if v.session != nil {
		d.sessions.close(v.session.id)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect target on this site: a path, never another
// host (//evil, /\evil).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}
