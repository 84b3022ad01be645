package handofftype

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

// ShortID is the short form of a task ID: its last 8 characters, the random
// end of a UUIDv7 (its start is the submit time, shared by tasks submitted
// together). Every call that takes a task ID accepts it while it is unique.
func ShortID(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[len(id)-8:]
}
