package dashboard

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/internal/store"
)

// Config configures the dashboard. Its zero value, with a Client, works.
type Config struct {
	Client *handoff.Client
	// Logger receives errors the pages could not show; nil discards.
	Logger *slog.Logger
	// SessionTTL is how long a sign-in lasts. Zero means DefaultSessionTTL.
	SessionTTL time.Duration
	// EventPoll is how often the live feed reads the database for changes
	// made by other processes (workers elsewhere). Zero means 250 ms.
	EventPoll time.Duration
	// PageSize is the number of tasks per page. Zero means 50.
	PageSize int
}

// DefaultSessionTTL is how long a sign-in lasts by default.
const DefaultSessionTTL = 12 * time.Hour

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Dashboard serves the pages; mount it at /.
type Dashboard struct {
	cfg      Config
	c        *handoff.Client
	store    *store.Store
	logger   *slog.Logger
	mux      *http.ServeMux
	pages    map[string]*template.Template
	sessions *sessions
	hub      *hub
	origin   *http.CrossOriginProtection
	riverui  http.Handler
}

// New builds the dashboard on cfg.Client.
func New(cfg Config) *Dashboard {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.EventPoll <= 0 {
		cfg.EventPoll = 250 * time.Millisecond
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 50
	}
	d := &Dashboard{cfg: cfg, c: cfg.Client, store: cfg.Client.TaskStore(), logger: cfg.Logger, mux: http.NewServeMux(),
		pages: parsePages(), sessions: newSessions(cfg.SessionTTL), origin: http.NewCrossOriginProtection()}
	d.hub = newHub(cfg.Client, cfg.EventPoll)
	d.riverui = d.newRiverUI()
	d.routes()
	return d
}

func (d *Dashboard) routes() {
	m := d.mux
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	m.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		http.ServeFileFS(w, r, staticFS, "static/favicon.svg")
	})
	m.HandleFunc("GET /login", d.loginPage)
	m.HandleFunc("POST /login", d.login)
	m.Handle("POST /logout", d.auth(store.ScopeRead, d.logout))
	m.Handle("GET /{$}", d.auth(store.ScopeRead, d.tasksPage))
	m.Handle("GET /tasks/rows", d.auth(store.ScopeRead, d.taskRows))
	m.Handle("GET /tasks/{id}", d.auth(store.ScopeRead, d.taskPage))
	m.Handle("GET /tasks/{id}/log", d.auth(store.ScopeRead, d.taskLog))
	m.Handle("POST /tasks/{id}/cancel", d.auth(store.ScopeCancel, d.cancel))
	m.Handle("GET /events", d.auth(store.ScopeRead, d.events))
	m.Handle("GET /runs", d.auth(store.ScopeRead, d.runsPage))
	m.Handle("GET /runs/{id}", d.auth(store.ScopeRead, d.runPage))
	m.Handle("GET /runs/{id}/timeline.svg", d.auth(store.ScopeRead, d.runTimeline))
	m.Handle("GET /workers", d.auth(store.ScopeRead, d.workersPage))
	m.Handle("/riverui/", d.auth(store.ScopeAdmin, d.riverUI))
	m.Handle("/", d.auth(store.ScopeRead, func(w http.ResponseWriter, r *http.Request, v *viewer) {
		d.fail(w, r, v, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	}))
}

// ServeHTTP serves the dashboard's routes with its security headers.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/riverui/") {
		// River's UI brings its own scripts and styles.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
	}
	d.mux.ServeHTTP(w, r)
}

// page is what every page's layout shows.
type page struct {
	Title  string
	Nav    string // the section highlighted in the menu
	Viewer *viewer
	CSRF   string
	Data   any
}

// render writes a page with the layout.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if p.Viewer != nil && p.Viewer.session != nil {
		p.CSRF = p.Viewer.session.csrf
	}
	var b bytes.Buffer
	if err := d.pages[name].ExecuteTemplate(&b, "layout", p); err != nil {
		d.logger.Error("rendering a dashboard page", "page", name, "error", err)
		http.Error(w, "the page could not be drawn: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// fail shows an error page.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, v *viewer, status int, msg string) {
	d.render(w, r, status, "error", page{Title: http.StatusText(status), Viewer: v, Data: msg})
}

func parsePages() map[string]*template.Template {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		out[base] = template.Must(template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return out
}
