package openhands

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/agent"
)

// Target says which OpenHands API the agent talks to.
type Target string

// The two targets.
const (
	// TargetAgentServer is the self-hosted agent server (software-agent-sdk),
	// authenticated with X-Session-API-Key.
	TargetAgentServer Target = "agent-server"
	// TargetCloud is OpenHands Cloud or a self-hosted V1 app server
	// (/api/v1/app-conversations), authenticated with a Bearer key.
	TargetCloud Target = "cloud"
)

// WorkspaceMode says how the task directory reaches an agent server.
type WorkspaceMode string

// The workspace modes.
const (
	// WorkspaceShared means the server sees the task directory on a shared
	// file system (a bind mount), possibly under another path prefix.
	WorkspaceShared WorkspaceMode = "shared"
	// WorkspaceUpload means the snapshot is uploaded as a tarball, unpacked
	// with the bash route, and the results are downloaded again.
	WorkspaceUpload WorkspaceMode = "upload"
)

// Config configures the OpenHands agent. Its zero value plus a URL works:
// every other zero field means the documented default.
type Config struct {
	// URL is the server's base URL (OPENHANDS_URL), e.g. http://localhost:8000
	// for an agent server or https://app.all-hands.dev for Cloud.
	URL string
	// APIKey authenticates handoff to the server (OPENHANDS_API_KEY): the
	// agent server's session API key, or the Cloud API key.
	APIKey string
	// Target is the API flavour (OPENHANDS_TARGET). Default agent-server.
	Target Target
	// AuthHeader names the header that carries APIKey (OPENHANDS_AUTH_HEADER).
	// Default X-Session-API-Key for the agent server and Authorization
	// (Bearer) for Cloud; X-Access-Token is what the Cloud spec names.
	AuthHeader string

	// LLMAPIKey is sent to the agent server inside the LLM configuration
	// (LLM_API_KEY, falling back to OPENROUTER_API_KEY). Cloud uses the
	// account's own LLM settings and ignores it.
	LLMAPIKey string
	// LLMBaseURL is the LLM endpoint (LLM_BASE_URL); empty means the
	// provider's default.
	LLMBaseURL string
	// Model is the default model (LLM_MODEL) when the task names none.
	Model string
	// Models is the ordered fallback list (HANDOFF_MODELS=a,b,c): when a
	// conversation ends in an LLM error, the next conversation uses the next
	// model.
	Models []string

	// BudgetUSD caps the accumulated LLM cost of a task (HANDOFF_BUDGET_USD);
	// a conversation that passes it is paused. Zero means no cap.
	BudgetUSD float64
	// MaxIterations caps agent steps per conversation
	// (OPENHANDS_MAX_ITERATIONS). Default 100.
	MaxIterations int
	// MaxDuration caps one conversation's wall-clock time on top of the
	// task's deadline (OPENHANDS_MAX_DURATION). Zero means the task deadline only.
	MaxDuration time.Duration

	// Workspace is how the task directory reaches an agent server
	// (OPENHANDS_WORKSPACE=shared|upload). Default shared.
	Workspace WorkspaceMode
	// LocalPrefix and ServerPrefix map task directories to the path the
	// server sees in shared mode (OPENHANDS_PATH_MAP=/local/prefix=/server/prefix):
	// a task directory under LocalPrefix is sent as ServerPrefix plus the rest.
	LocalPrefix, ServerPrefix string
	// UploadDir is the server-side directory that receives uploaded
	// snapshots (OPENHANDS_UPLOAD_DIR). Default /workspace/handoff.
	UploadDir string

	// Repository and Branch name what Cloud clones for the conversation
	// (OPENHANDS_REPOSITORY=owner/name, OPENHANDS_BRANCH).
	Repository, Branch string
	// RepoDir is where Cloud checks the repository out, for reading changes
	// back (OPENHANDS_REPO_DIR). Default /workspace/project/<name>.
	RepoDir string

	// KeepOnCancel keeps a cancelled conversation instead of deleting it
	// (OPENHANDS_KEEP_ON_CANCEL=1). It is paused either way.
	KeepOnCancel bool
	// RejectConfirmations answers a conversation waiting for confirmation
	// with a rejection instead of an acceptance
	// (OPENHANDS_CONFIRMATION=reject). handoff asks for never-confirm, so
	// this only matters on servers that ignore the policy.
	RejectConfirmations bool

	// PollInterval is the pause between status polls (OPENHANDS_POLL_INTERVAL).
	// Default 2s.
	PollInterval time.Duration
	// MaxRetries bounds retries of one request after 429, 5xx or a
	// connection error. Default 6.
	MaxRetries int
	// BackoffBase and BackoffMax shape the capped exponential backoff with
	// full jitter. Defaults 500ms and 30s.
	BackoffBase, BackoffMax time.Duration
	// MaxRetryAfter caps how long a 429's Retry-After is honoured. Default 2m.
	MaxRetryAfter time.Duration
	// BreakerFailures is the number of consecutive failed requests (5xx or no
	// answer) that opens the circuit to a server. Default 8.
	BreakerFailures int
	// BreakerCooldown is how long the circuit stays open before one probe.
	// Default 30s.
	BreakerCooldown time.Duration
	// CancelTimeout bounds the pause and delete sent after cancellation.
	// Default 10s.
	CancelTimeout time.Duration
	// RequestTimeout bounds one HTTP request. Default 60s.
	RequestTimeout time.Duration

	// HTTPClient is used for every request; nil means a default client.
	HTTPClient *http.Client
	// Logger receives structured logs; nil means slog.Default(). Secrets
	// never reach it.
	Logger *slog.Logger

	envErr error // what FromEnv could not parse, reported by Agent.Check

	// ReadBackReserve is the share of the task's remaining time kept for
	// reading the results back after the conversation is stopped at the
	// deadline (OPENHANDS_READBACK_RESERVE, e.g. 10%). Default 10%.
	ReadBackReserve float64
	// Prices adds model prices, in US dollars per million tokens, used when
	// the server reports no cost (OPENHANDS_PRICES=model=in/out,...).
	Prices map[string]Price
}

// FromEnv reads a Config from the environment variables named on its
// fields. Values it cannot parse are reported by the Agent's Check (and Run),
// naming the variable.
func FromEnv() Config { return fromLookup(os.LookupEnv) }

func fromLookup(lookup func(string) (string, bool)) Config {
	c, err := parseEnv(lookup)
	c.envErr = err
	return c
}

func parseEnv(lookup func(string) (string, bool)) (Config, error) {
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	c := Config{
		URL:        get("OPENHANDS_URL"),
		APIKey:     get("OPENHANDS_API_KEY"),
		Target:     Target(get("OPENHANDS_TARGET")),
		AuthHeader: get("OPENHANDS_AUTH_HEADER"),
		LLMAPIKey:  get("LLM_API_KEY"),
		LLMBaseURL: get("LLM_BASE_URL"),
		Model:      get("LLM_MODEL"),
		Workspace:  WorkspaceMode(get("OPENHANDS_WORKSPACE")),
		UploadDir:  get("OPENHANDS_UPLOAD_DIR"),
		Repository: get("OPENHANDS_REPOSITORY"),
		Branch:     get("OPENHANDS_BRANCH"),
		RepoDir:    get("OPENHANDS_REPO_DIR"),
		KeepOnCancel: get("OPENHANDS_KEEP_ON_CANCEL") == "1" ||
			strings.EqualFold(get("OPENHANDS_KEEP_ON_CANCEL"), "true"),
		RejectConfirmations: strings.EqualFold(get("OPENHANDS_CONFIRMATION"), "reject"),
	}
	if c.LLMAPIKey == "" {
		c.LLMAPIKey = get("OPENROUTER_API_KEY")
	}
	for _, m := range strings.Split(get("HANDOFF_MODELS"), ",") {
		if m = strings.TrimSpace(m); m != "" {
			c.Models = append(c.Models, m)
		}
	}
	if pm := get("OPENHANDS_PATH_MAP"); pm != "" {
		local, server, ok := strings.Cut(pm, "=")
		if !ok || local == "" || server == "" {
			return c, fmt.Errorf("OPENHANDS_PATH_MAP=%q: want /local/prefix=/server/prefix", pm)
		}
		c.LocalPrefix, c.ServerPrefix = local, server
	}
	var err error
	if v := get("OPENHANDS_READBACK_RESERVE"); v != "" {
		f, perr := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		if c.ReadBackReserve = f / 100; perr != nil || f <= 0 || f >= 100 {
			return c, fmt.Errorf("OPENHANDS_READBACK_RESERVE=%q: want a percentage between 0 and 100, e.g. 10%%", v)
		}
	}
	if c.Prices, err = parsePrices(get("OPENHANDS_PRICES")); err != nil {
		return c, err
	}
	if v := get("HANDOFF_BUDGET_USD"); v != "" {
		if c.BudgetUSD, err = strconv.ParseFloat(v, 64); err != nil || c.BudgetUSD < 0 {
			return c, fmt.Errorf("HANDOFF_BUDGET_USD=%q: want a non-negative number of US dollars", v)
		}
	}
	if v := get("OPENHANDS_MAX_ITERATIONS"); v != "" {
		if c.MaxIterations, err = strconv.Atoi(v); err != nil || c.MaxIterations < 1 {
			return c, fmt.Errorf("OPENHANDS_MAX_ITERATIONS=%q: want a positive integer", v)
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"OPENHANDS_POLL_INTERVAL", &c.PollInterval}, {"OPENHANDS_MAX_DURATION", &c.MaxDuration}} {
		if v := get(d.name); v != "" {
			if *d.dst, err = time.ParseDuration(v); err != nil || *d.dst <= 0 {
				return c, fmt.Errorf("%s=%q: want a duration such as 2s or 30m", d.name, v)
			}
		}
	}
	return c, nil
}

// validate reports configuration mistakes a user can fix, naming the
// variable to change. It does not require URL: that is checked by New.
func (c Config) validate() error {
	if c.envErr != nil {
		return c.envErr
	}
	switch c.Target {
	case "", TargetAgentServer, TargetCloud:
	default:
		return fmt.Errorf("OPENHANDS_TARGET=%q: want agent-server or cloud", c.Target)
	}
	switch c.Workspace {
	case "", WorkspaceShared, WorkspaceUpload:
	default:
		return fmt.Errorf("OPENHANDS_WORKSPACE=%q: want shared or upload", c.Workspace)
	}
	if (c.LocalPrefix == "") != (c.ServerPrefix == "") {
		return fmt.Errorf("OPENHANDS_PATH_MAP: set both the local and the server prefix")
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.Target == "" {
		c.Target = TargetAgentServer
	}
	if c.AuthHeader == "" {
		c.AuthHeader = "X-Session-API-Key"
		if c.Target == TargetCloud {
			c.AuthHeader = "Authorization"
		}
	}
	if c.Workspace == "" {
		c.Workspace = WorkspaceShared
	}
	if c.UploadDir == "" {
		c.UploadDir = "/workspace/handoff"
	}
	if c.RepoDir == "" {
		name := c.Repository[strings.LastIndex(c.Repository, "/")+1:]
		c.RepoDir = strings.TrimSuffix("/workspace/project/"+name, "/")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.PollInterval, 2*time.Second)
	def(&c.BackoffBase, 500*time.Millisecond)
	def(&c.BackoffMax, 30*time.Second)
	def(&c.MaxRetryAfter, 2*time.Minute)
	def(&c.BreakerCooldown, 30*time.Second)
	def(&c.CancelTimeout, 10*time.Second)
	def(&c.RequestTimeout, 60*time.Second)
	if c.MaxIterations <= 0 {
		c.MaxIterations = 100
	}
	if c.ReadBackReserve <= 0 || c.ReadBackReserve >= 1 {
		c.ReadBackReserve = 0.1
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 6
	}
	if c.BreakerFailures <= 0 {
		c.BreakerFailures = 8
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// models returns the ordered, de-duplicated list of models to try: the
// task's model (or the configured default), then the fallbacks.
func (c Config) models(taskModel string) []string {
	return agent.ModelOrder(taskModel, c.Model, c.Models)
}

// settings are what travels with a task: every variable the user sets except
// the two keys. The worker's own HTTP client, logger, retry and circuit
// breaker tuning stay its own.
type settings struct {
	URL                 string        `json:"url"`
	Target              Target        `json:"target"`
	AuthHeader          string        `json:"auth_header"`
	LLMBaseURL          string        `json:"llm_base_url,omitempty"`
	Model               string        `json:"model,omitempty"`
	Models              []string      `json:"models,omitempty"`
	BudgetUSD           float64       `json:"budget_usd,omitempty"`
	MaxIterations       int           `json:"max_iterations"`
	MaxDurationMS       int64         `json:"max_duration_ms,omitempty"`
	Workspace           WorkspaceMode `json:"workspace"`
	LocalPrefix         string        `json:"local_prefix,omitempty"`
	ServerPrefix        string        `json:"server_prefix,omitempty"`
	UploadDir           string        `json:"upload_dir,omitempty"`
	Repository          string        `json:"repository,omitempty"`
	Branch              string        `json:"branch,omitempty"`
	RepoDir             string        `json:"repo_dir,omitempty"`
	KeepOnCancel        bool          `json:"keep_on_cancel,omitempty"`
	RejectConfirmations bool          `json:"reject_confirmations,omitempty"`
	PollIntervalMS      int64         `json:"poll_interval_ms"`
}

func (c Config) settings() settings {
	return settings{URL: c.URL, Target: c.Target, AuthHeader: c.AuthHeader, LLMBaseURL: c.LLMBaseURL, Model: c.Model,
		Models: c.Models, BudgetUSD: c.BudgetUSD, MaxIterations: c.MaxIterations, MaxDurationMS: c.MaxDuration.Milliseconds(),
		Workspace: c.Workspace, LocalPrefix: c.LocalPrefix, ServerPrefix: c.ServerPrefix, UploadDir: c.UploadDir,
		Repository: c.Repository, Branch: c.Branch, RepoDir: c.RepoDir, KeepOnCancel: c.KeepOnCancel,
		RejectConfirmations: c.RejectConfirmations, PollIntervalMS: c.PollInterval.Milliseconds()}
}

// with returns c, its secrets and tuning kept, with the settings s.
func (c Config) with(s settings) Config {
	c.URL, c.Target, c.AuthHeader, c.LLMBaseURL, c.Model, c.Models = s.URL, s.Target, s.AuthHeader, s.LLMBaseURL, s.Model, s.Models
	c.BudgetUSD, c.MaxIterations, c.MaxDuration = s.BudgetUSD, s.MaxIterations, time.Duration(s.MaxDurationMS)*time.Millisecond
	c.Workspace, c.LocalPrefix, c.ServerPrefix, c.UploadDir = s.Workspace, s.LocalPrefix, s.ServerPrefix, s.UploadDir
	c.Repository, c.Branch, c.RepoDir = s.Repository, s.Branch, s.RepoDir
	c.KeepOnCancel, c.RejectConfirmations = s.KeepOnCancel, s.RejectConfirmations
	c.PollInterval = time.Duration(s.PollIntervalMS) * time.Millisecond
	c.envErr = nil // what this worker's own variables got wrong does not concern the task's settings
	return c
}

// Settings implements agent.Configurable. A URL carrying a password is
// refused: the settings are stored with the task, and the password belongs
// in OPENHANDS_API_KEY.
func (a *Agent) Settings() (json.RawMessage, error) {
	if a.err != nil {
		return nil, a.err
	}
	for name, raw := range map[string]string{"OPENHANDS_URL": a.cfg.URL, "LLM_BASE_URL": a.cfg.LLMBaseURL} {
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				return nil, fmt.Errorf("openhands: %s carries a password, which would be stored with the task; "+
					"remove it from the URL and give the key in OPENHANDS_API_KEY or LLM_API_KEY", name)
			}
		}
	}
	return json.Marshal(a.cfg.settings())
}

// WithSettings implements agent.Configurable. Agents for the same settings
// are built once per process, so the tasks that talk to one server share its
// circuit breaker.
func (a *Agent) WithSettings(raw json.RawMessage) (agent.Agent, error) {
	var s settings
	if err := agent.DecodeSettings(raw, &s); err != nil {
		return nil, err
	}
	key, _ := json.Marshal(s)
	if a.err == nil {
		if own, _ := json.Marshal(a.cfg.settings()); string(own) == string(key) {
			return a, nil
		}
	}
	a.derived.mu.Lock()
	defer a.derived.mu.Unlock()
	if d, ok := a.derived.m[string(key)]; ok {
		return d, nil
	}
	d := New(a.orig.with(s))
	if d.err != nil {
		return nil, d.err
	}
	a.derived.m[string(key)] = d
	return d, nil
}

// Secrets implements agent.Configurable: the server's key and, for an agent
// server, the LLM key sent to it.
func (a *Agent) Secrets() map[string]string {
	out := map[string]string{"OPENHANDS_API_KEY": a.orig.APIKey}
	if Target(a.orig.Target) != TargetCloud {
		out["LLM_API_KEY"] = a.orig.LLMAPIKey
	}
	return out
}
