package handoff

import "github.com/handoff-dev/handoff/handofftype"

// The data of a task lives in package handofftype, documented field by
// field there; these aliases let callers of the Client write
// handoff.Request and handoff.Result.
type (
	// Request asks for tests for one module; see handofftype.Request.
	Request = handofftype.Request
	// Status is a task's state at one moment; see handofftype.Status.
	Status = handofftype.Status
	// Result is the verified outcome of a task; see handofftype.Result.
	Result = handofftype.Result
	// State is where a task is in its life: QUEUED, RUNNING, COMPLETED,
	// FAILED or CANCELLED.
	State = handofftype.State
	// Priority orders queued tasks.
	Priority = handofftype.Priority
	// ApplyMode says when kept tests are written to the workspace.
	ApplyMode = handofftype.ApplyMode

	// TaskStatus is the former name of Status.
	//
	// Deprecated: use Status. TaskStatus goes in the release after next.
	TaskStatus = handofftype.Status
)

// The task states.
const (
	StateQueued    = handofftype.StateQueued
	StateRunning   = handofftype.StateRunning
	StateCompleted = handofftype.StateCompleted
	StateFailed    = handofftype.StateFailed
	StateCancelled = handofftype.StateCancelled
)

// The priorities.
const (
	PriorityCritical = handofftype.PriorityCritical
	PriorityHigh     = handofftype.PriorityHigh
	PriorityNormal   = handofftype.PriorityNormal
	PriorityLow      = handofftype.PriorityLow
)

// The apply modes.
const (
	ApplyNever    = handofftype.ApplyNever
	ApplySuccess  = handofftype.ApplySuccess
	ApplyImproved = handofftype.ApplyImproved
)

// Coverage returns a pointer to pct, for Request.Coverage.
func Coverage(pct float64) *float64 { return &pct }
