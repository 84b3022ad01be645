package handofftype

import (
	"encoding/json"
	"time"
)

// Request asks for tests for one module.
type Request struct {
	// Workspace is the user's repository or folder. Default: the git root of
	// the working directory, else the working directory.
	Workspace string `json:"workspace"`
	// Module is the file (Go or Python) or Go package directory to cover,
	// relative to the workspace (or absolute inside it).
	Module string `json:"module"`
	// Output is where kept tests land, relative to the workspace. Default by
	// language: Go <dir>/<stem>_test.go, Python tests/<package path>/test_<stem>.py.
	Output string `json:"output,omitempty"`
	// Coverage is the threshold in percent, 0..100. Nil means
	// DefaultCoverage (80).
	Coverage *float64 `json:"coverage,omitempty"`
	// Agent names the backend; empty means the configured default.
	Agent string `json:"agent,omitempty"`
	// Model is passed to the agent; empty means its default.
	Model string `json:"model,omitempty"`
	// IdempotencyKey makes Submit return the existing task for the same key
	// and the same request; the same key with a different request is an error.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Priority orders queued tasks; empty means DefaultPriority (normal).
	Priority Priority `json:"priority,omitempty"`
	// Timeout bounds the whole task (all rounds, verification included).
	// Zero means DefaultTimeout (30 minutes).
	Timeout time.Duration `json:"timeout,omitempty"`
	// MaxAttempts bounds retries after transient failures. Zero means
	// DefaultMaxAttempts (3).
	MaxAttempts int `json:"max_attempts,omitempty"`
	// MaxRounds bounds repair rounds (agent → verify → feedback). Zero
	// means DefaultMaxRounds (3).
	MaxRounds int `json:"max_rounds,omitempty"`
	// Runs is how many times each test must pass to count as stable. Zero
	// means DefaultRuns (3).
	Runs int `json:"runs,omitempty"`
	// TestTimeout bounds one test run. Zero means DefaultTestTimeout (5
	// minutes).
	TestTimeout time.Duration `json:"test_timeout,omitempty"`
	// BudgetUSD caps what an LLM-driven agent may spend on the task; zero
	// means the agent's own setting (HANDOFF_BUDGET_USD).
	BudgetUSD float64 `json:"budget_usd,omitempty"`
	// Apply says when kept tests are written to the workspace. Empty means
	// DefaultApply (improved).
	Apply ApplyMode `json:"apply,omitempty"`
	// Labels are free-form tags for List (a pipeline run ID, a stage name).
	Labels map[string]string `json:"labels,omitempty"`

	// AgentSettings are the agent's non-secret settings (a command line, a
	// server URL, a model, limits), as the backend writes them. Empty means
	// the settings of the submitting client's agent, which Submit fills in;
	// the worker that runs the task builds its agent from them, so the task
	// runs as it was asked whichever worker takes it.
	AgentSettings json.RawMessage `json:"agent_settings,omitempty"`
	// AgentSecrets fingerprints the secrets the agent uses, as the submitter
	// holds them. Submit sets it (a value given is replaced); it never holds
	// a secret's value.
	AgentSecrets *SecretPrints `json:"agent_secrets,omitempty"`
}
