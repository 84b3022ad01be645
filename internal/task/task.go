// Package task holds the data of a handoff task that every layer shares: the
// request, its state and its result. The public package handoff re-exports
// these types; internal packages use them without importing the root.
package task

import (
	"time"

	"github.com/handoff-dev/handoff/agent"
)

// State is where a task is in its life.
type State string

// The states of a task. QUEUED and RUNNING are live; the others are final.
const (
	StateQueued    State = "QUEUED"
	StateRunning   State = "RUNNING"
	StateCompleted State = "COMPLETED" // a verdict was reached; Result.Success says which
	StateFailed    State = "FAILED"    // no verdict: agent or infrastructure failure after retries
	StateCancelled State = "CANCELLED"
)

// Final reports whether the state can no longer change.
func (s State) Final() bool {
	return s == StateCompleted || s == StateFailed || s == StateCancelled
}

// Priority orders queued tasks.
type Priority string

// Priorities, highest first.
const (
	PriorityCritical Priority = "critical"
	PriorityHigh     Priority = "high"
	PriorityNormal   Priority = "normal"
	PriorityLow      Priority = "low"
)

// ApplyMode says when kept tests are written to the user's workspace.
type ApplyMode string

// Apply modes.
const (
	ApplyNever    ApplyMode = "never"    // never write to the workspace
	ApplySuccess  ApplyMode = "success"  // only when the threshold is met
	ApplyImproved ApplyMode = "improved" // whenever the kept tests raise coverage (default)
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
	// Coverage is the threshold in percent, 0..100. Nil means 80.
	Coverage *float64 `json:"coverage,omitempty"`
	// Agent names the backend; empty means the configured default.
	Agent string `json:"agent,omitempty"`
	// Model is passed to the agent; empty means its default.
	Model string `json:"model,omitempty"`
	// IdempotencyKey makes Submit return the existing task for the same key
	// and the same request; the same key with a different request is an error.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Priority orders queued tasks; empty means normal.
	Priority Priority `json:"priority,omitempty"`
	// Timeout bounds the whole task (all rounds, verification included).
	// Zero means 30 minutes.
	Timeout time.Duration `json:"timeout,omitempty"`
	// MaxAttempts bounds retries after transient failures. Zero means 3.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// MaxRounds bounds repair rounds (agent → verify → feedback). Zero means 3.
	MaxRounds int `json:"max_rounds,omitempty"`
	// Runs is how many times each test must pass to count as stable. Zero means 3.
	Runs int `json:"runs,omitempty"`
	// TestTimeout bounds one test run. Zero means 5 minutes.
	TestTimeout time.Duration `json:"test_timeout,omitempty"`
	// BudgetUSD caps what an LLM-driven agent may spend on the task; zero
	// means the agent's own setting (HANDOFF_BUDGET_USD).
	BudgetUSD float64 `json:"budget_usd,omitempty"`
	// Apply says when kept tests are written to the workspace. Empty means improved.
	Apply ApplyMode `json:"apply,omitempty"`
	// Labels are free-form tags for List (a pipeline run ID, a stage name).
	Labels map[string]string `json:"labels,omitempty"`
}

// Status is a task's state at one moment. Reading it never waits on the task.
type Status struct {
	ID          string            `json:"task_id"`
	State       State             `json:"status"`
	Module      string            `json:"module_path"`
	Output      string            `json:"output_path"`
	Workspace   string            `json:"workspace"`
	Agent       string            `json:"agent"`
	Attempt     int               `json:"attempt"`
	MaxAttempts int               `json:"max_attempts"`
	LastError   string            `json:"last_error,omitempty"`
	Progress    string            `json:"progress,omitempty"`
	Success     *bool             `json:"success,omitempty"` // set once COMPLETED
	CreatedAt   time.Time         `json:"created_at"`
	StartedAt   *time.Time        `json:"started_at,omitempty"`
	CompletedAt *time.Time        `json:"completed_at,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// Result is the verified outcome of a task.
type Result struct {
	TaskID     string `json:"task_id"`
	Status     State  `json:"status"`
	Success    bool   `json:"success"`
	ModulePath string `json:"module_path"`
	OutputPath string `json:"output_path"`
	Language   string `json:"language"`
	Error      string `json:"error,omitempty"`

	Coverage  Coverage            `json:"coverage"`
	Functions []FunctionDelta     `json:"functions,omitempty"`
	Tests     Tests               `json:"tests"`
	Funnel    Funnel              `json:"funnel"`
	Baseline  Baseline            `json:"baseline"`
	Files     []string            `json:"files"` // written to the workspace
	Rejected  []string            `json:"rejected_changes,omitempty"`
	Apply     ApplyInfo           `json:"apply"`
	Agent     AgentInfo           `json:"agent"`
	Attempts  int                 `json:"attempts"`
	Rounds    int                 `json:"rounds"`
	Timings   Timings             `json:"timings"`
	Commands  []CommandRun        `json:"commands,omitempty"`
	Sandbox   string              `json:"containment,omitempty"`
	LogPath   string              `json:"log_path,omitempty"`
	Uncovered []agent.Unsupported `json:"uncovered,omitempty"`
	Extra     map[string]any      `json:"extra,omitempty"`
}

// Coverage of the module, in percent.
type Coverage struct {
	Before    float64 `json:"before"`
	After     float64 `json:"after"`
	Threshold float64 `json:"threshold"`
	// Branch figures, where the toolchain gives them (coverage.py with branch measurement).
	BranchBefore *float64 `json:"branch_before,omitempty"`
	BranchAfter  *float64 `json:"branch_after,omitempty"`
}

// FunctionDelta is one function's coverage before and after the kept tests.
type FunctionDelta struct {
	Name   string  `json:"name"`
	Before float64 `json:"before"`
	After  float64 `json:"after"`
}

// Tests lists the verdict on each generated test.
type Tests struct {
	Kept    []string        `json:"kept"`
	Dropped []agent.Dropped `json:"dropped"`
}

// Funnel counts generated tests through each acceptance step.
type Funnel struct {
	Generated int `json:"generated"`
	Built     int `json:"built"`
	Passed    int `json:"passed"`
	Stable    int `json:"stable"`
	Improved  int `json:"improved"`
	Kept      int `json:"kept"`
}

// Baseline is how the existing tests fared before the agent ran.
type Baseline struct {
	Passed bool   `json:"passed"`
	Error  string `json:"error,omitempty"`
}

// ApplyInfo says what happened when kept tests were written to the workspace.
type ApplyInfo struct {
	Mode      ApplyMode `json:"mode"`
	Applied   bool      `json:"applied"`
	Reason    string    `json:"reason,omitempty"` // why not applied, or what was skipped
	Stale     bool      `json:"stale"`            // the module or output changed since the snapshot
	Redropped []string  `json:"redropped,omitempty"`
}

// AgentInfo describes the agent run that produced the tests.
type AgentInfo struct {
	Name    string         `json:"name"`
	Model   string         `json:"model,omitempty"`
	Summary string         `json:"summary,omitempty"`
	Details map[string]any `json:"details,omitempty"`
}

// Timings in milliseconds.
type Timings struct {
	QueuedMS   int64 `json:"queued_ms"`
	RunMS      int64 `json:"run_ms"`
	BaselineMS int64 `json:"baseline_ms"`
	AgentMS    int64 `json:"agent_ms"`
	VerifyMS   int64 `json:"verify_ms"`
}

// CommandRun records one command handoff ran during verification.
type CommandRun struct {
	Command    string `json:"command"`
	DurationMS int64  `json:"duration_ms"`
	ExitCode   int    `json:"exit_code"`
	TimedOut   bool   `json:"timed_out,omitempty"`
}
