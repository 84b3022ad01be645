package handofftype

import (
	"encoding/json"
	"time"

	"github.com/handoff-dev/handoff/agent"
)

// Result is the verified outcome of a task. Its JSON is what `handoff wait
// --json` prints; those names never change, new fields are only added.
type Result struct {
	// TaskID is the task's ID.
	TaskID string `json:"task_id"`
	// State is the task's final state: COMPLETED when a verdict was
	// reached (Success says which), FAILED or CANCELLED when none was.
	State State `json:"status"`
	// Success says the kept tests bring the module's coverage to the
	// threshold.
	Success bool `json:"success"`
	// Module is the module covered, relative to the workspace.
	Module string `json:"module_path"`
	// Output is where kept tests land, relative to the workspace.
	Output string `json:"output_path"`
	// Language is the module's language: "go" or "python".
	Language string `json:"language"`
	// Error says why a FAILED or CANCELLED task has no verdict, or what
	// went wrong on the way to one.
	Error string `json:"error,omitempty"`
	// FailureClass says in one word why a FAILED task failed (timeout,
	// worker_lost, agent, verify, setup, internal); empty otherwise.
	FailureClass FailureClass `json:"failure_class,omitempty"`
	// CancelledBy says who cancelled a CANCELLED task: the program, its
	// process ID and host.
	CancelledBy string `json:"cancelled_by,omitempty"`

	// Coverage is the module's coverage before and after the kept tests.
	Coverage Coverage `json:"coverage"`
	// Functions is each function's coverage before and after.
	Functions []FunctionDelta `json:"functions,omitempty"`
	// Tests are the generated tests, kept or dropped with the reason.
	Tests Tests `json:"tests"`
	// Funnel counts the generated tests through each acceptance step.
	Funnel Funnel `json:"funnel"`
	// Baseline is how the existing tests fared before the agent ran.
	Baseline Baseline `json:"baseline"`
	// Files are the files written to the workspace.
	Files []string `json:"files"`
	// Rejected lists the agent's changes that were undone: files other
	// than tests, files outside the output area, deletions, caches.
	Rejected []string `json:"rejected_changes,omitempty"`
	// Apply says whether and how the kept tests were written to the
	// workspace.
	Apply ApplyInfo `json:"apply"`
	// Agent describes the agent run that produced the tests.
	Agent AgentInfo `json:"agent"`
	// Attempts is how many attempts the task took.
	Attempts int `json:"attempts"`
	// Rounds is how many agent → verify rounds the final attempt ran.
	Rounds int `json:"rounds"`
	// Timings says where the time went.
	Timings Timings `json:"timings"`
	// Commands are the commands verification ran, with their durations.
	Commands []CommandRun `json:"commands,omitempty"`
	// Containment is how the generated tests ran: "bwrap" (bubblewrap:
	// read-only root, no network, own PID namespace), "pid-namespace"
	// (own PID namespace; file system and network shared) or
	// "process-group" (a timeout, a process group and a scrubbed
	// environment only).
	Containment string `json:"containment,omitempty"`
	// ContainmentGaps says what that containment lacked (all of
	// bubblewrap's protection when it could not be used).
	ContainmentGaps []string `json:"containment_gaps,omitempty"`
	// LogPath is the task's log on the machine that ran it.
	LogPath string `json:"log_path,omitempty"`
	// Uncovered lists functions the agent could not drive, with the reason.
	Uncovered []agent.Unsupported `json:"uncovered,omitempty"`
	// Extra holds what a custom runner adds; handoff's own runner leaves
	// it empty.
	Extra map[string]any `json:"extra,omitempty"`

	// KeptFiles holds the kept test files (path → content) while they wait
	// to be applied where the workspace is (Apply.Pending). The database
	// keeps them beside the result, not in its JSON.
	KeptFiles map[string][]byte `json:"-"`
}

// Coverage of the module, in percent.
type Coverage struct {
	// Before is the coverage of the existing tests.
	Before float64 `json:"before"`
	// After is the coverage with the kept tests added.
	After float64 `json:"after"`
	// Threshold is the coverage the request asked for.
	Threshold float64 `json:"threshold"`
	// BranchBefore and BranchAfter are branch coverage, where the
	// toolchain measures it (coverage.py with branch measurement).
	BranchBefore *float64 `json:"branch_before,omitempty"`
	BranchAfter  *float64 `json:"branch_after,omitempty"`
}

// FunctionDelta is one function's coverage before and after the kept tests.
type FunctionDelta struct {
	// Name is the function's name (Go: Type.Method for methods).
	Name string `json:"name"`
	// Before and After are its coverage in percent.
	Before float64 `json:"before"`
	After  float64 `json:"after"`
}

// Tests lists the verdict on each generated test.
type Tests struct {
	// Kept names the tests that passed every step and were kept.
	Kept []string `json:"kept"`
	// Dropped names the others, each with the step it failed and why.
	Dropped []agent.Dropped `json:"dropped"`
}

// Funnel counts generated tests through each acceptance step, in order: a
// test counts at a step only when it passed the ones before.
type Funnel struct {
	// Generated is how many tests the agent wrote.
	Generated int `json:"generated"`
	// Built is how many of them compiled (Go) or were collected (Python).
	Built int `json:"built"`
	// Passed is how many passed once.
	Passed int `json:"passed"`
	// Stable is how many passed every run (Request.Runs).
	Stable int `json:"stable"`
	// Improved is how many raised the module's coverage.
	Improved int `json:"improved"`
	// Kept is how many were kept.
	Kept int `json:"kept"`
}

// Baseline is how the existing tests fared before the agent ran.
type Baseline struct {
	// Passed says the existing tests passed.
	Passed bool `json:"passed"`
	// Error says how they failed.
	Error string `json:"error,omitempty"`
}

// ApplyInfo says what happened when kept tests were written to the workspace.
type ApplyInfo struct {
	// Mode is the request's apply mode.
	Mode ApplyMode `json:"mode"`
	// Applied says the kept tests were written.
	Applied bool `json:"applied"`
	// Reason says why they were not, or what was skipped.
	Reason string `json:"reason,omitempty"`
	// Stale says the module or the output changed in the workspace since
	// the snapshot; the kept tests were verified again against it.
	Stale bool `json:"stale"`
	// Redropped names the kept tests that failed that second verification
	// and were left out.
	Redropped []string `json:"redropped,omitempty"`
	// Pending says the worker that ran the task did not see the workspace:
	// the kept tests wait in the database for Wait, Generate or Apply to
	// write them where the workspace is.
	Pending bool `json:"pending,omitempty"`
	// Where says where they were applied: "worker" (the worker saw the
	// workspace) or "submitter" (written later where the workspace is).
	Where string `json:"where,omitempty"`
}

// AgentInfo describes the agent run that produced the tests.
type AgentInfo struct {
	// Name is the agent's name.
	Name string `json:"name"`
	// Model is the model it used, where it has one.
	Model string `json:"model,omitempty"`
	// Secrets says whose secrets the agent ran with: SecretsSubmitter when
	// the worker's values are the submitter's, SecretsWorker when a worker
	// ran it with its own, other ones. Empty when the agent uses none, or
	// the task was submitted without fingerprints.
	Secrets string `json:"secrets,omitempty"`
	// Summary is the agent's own account of its run, in a line.
	Summary string `json:"summary,omitempty"`
	// Details are the agent's own figures (cost, tokens, conversation ID).
	Details map[string]any `json:"details,omitempty"`
}

// Timings says where a task's time went. In JSON each is a whole number of
// milliseconds under the name with "_ms" appended (queued_ms, run_ms, ...).
type Timings struct {
	// Queued is the time from submit to the start of the final attempt.
	Queued time.Duration `json:"-"`
	// Run is the final attempt's time, from its start to its result.
	Run time.Duration `json:"-"`
	// Baseline is the time spent running the existing tests.
	Baseline time.Duration `json:"-"`
	// Agent is the time the agent took, all rounds together.
	Agent time.Duration `json:"-"`
	// Verify is the time verification took, all rounds together.
	Verify time.Duration `json:"-"`
}

type timingsJSON struct {
	Queued   int64 `json:"queued_ms"`
	Run      int64 `json:"run_ms"`
	Baseline int64 `json:"baseline_ms"`
	Agent    int64 `json:"agent_ms"`
	Verify   int64 `json:"verify_ms"`
}

// MarshalJSON writes the timings in milliseconds.
func (t Timings) MarshalJSON() ([]byte, error) {
	return json.Marshal(timingsJSON{t.Queued.Milliseconds(), t.Run.Milliseconds(), t.Baseline.Milliseconds(),
		t.Agent.Milliseconds(), t.Verify.Milliseconds()})
}

// UnmarshalJSON reads timings written in milliseconds.
func (t *Timings) UnmarshalJSON(b []byte) error {
	var j timingsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = Timings{Queued: ms(j.Queued), Run: ms(j.Run), Baseline: ms(j.Baseline), Agent: ms(j.Agent), Verify: ms(j.Verify)}
	return nil
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// CommandRun records one command handoff ran during verification. In JSON
// its duration is a whole number of milliseconds, duration_ms.
type CommandRun struct {
	// Command is the command line, as a shell would show it.
	Command string `json:"command"`
	// Duration is how long it ran.
	Duration time.Duration `json:"-"`
	// ExitCode is its exit status; -1 when a signal ended it.
	ExitCode int `json:"exit_code"`
	// TimedOut says it was stopped at its time limit.
	TimedOut bool `json:"timed_out,omitempty"`
}

type commandRunJSON struct {
	Command    string `json:"command"`
	DurationMS int64  `json:"duration_ms"`
	ExitCode   int    `json:"exit_code"`
	TimedOut   bool   `json:"timed_out,omitempty"`
}

// MarshalJSON writes the duration in milliseconds.
func (c CommandRun) MarshalJSON() ([]byte, error) {
	return json.Marshal(commandRunJSON{c.Command, c.Duration.Milliseconds(), c.ExitCode, c.TimedOut})
}

// UnmarshalJSON reads a command run whose duration is in milliseconds.
func (c *CommandRun) UnmarshalJSON(b []byte) error {
	var j commandRunJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = CommandRun{Command: j.Command, Duration: ms(j.DurationMS), ExitCode: j.ExitCode, TimedOut: j.TimedOut}
	return nil
}
