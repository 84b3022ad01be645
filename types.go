package handoff

import "github.com/handoff-dev/handoff/internal/task"

// Request asks for tests for one module. See the field docs for defaults.
type Request = task.Request

// TaskStatus is a task's state at one moment.
type TaskStatus = task.Status

// State is where a task is in its life: QUEUED, RUNNING, COMPLETED, FAILED or CANCELLED.
type State = task.State

// Result is the verified outcome of a task.
type Result = task.Result

// Priority orders queued tasks.
type Priority = task.Priority

// ApplyMode says when kept tests are written to the workspace.
type ApplyMode = task.ApplyMode

// The task states.
const (
	StateQueued    = task.StateQueued
	StateRunning   = task.StateRunning
	StateCompleted = task.StateCompleted
	StateFailed    = task.StateFailed
	StateCancelled = task.StateCancelled
)

// The priorities.
const (
	PriorityCritical = task.PriorityCritical
	PriorityHigh     = task.PriorityHigh
	PriorityNormal   = task.PriorityNormal
	PriorityLow      = task.PriorityLow
)

// The apply modes.
const (
	ApplyNever    = task.ApplyNever
	ApplySuccess  = task.ApplySuccess
	ApplyImproved = task.ApplyImproved
)

// Coverage returns a pointer to pct, for Request.Coverage.
func Coverage(pct float64) *float64 { return &pct }
