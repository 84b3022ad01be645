package handofftype

import "time"

// Status is a task's state at one moment. Reading it never waits on the
// task. Its JSON is what `handoff status --json` prints.
type Status struct {
	// ID is the task's ID, a UUIDv7 (see ShortID for its short form).
	ID string `json:"task_id"`
	// State is where the task is in its life.
	State State `json:"status"`
	// Module is the module being covered, relative to the workspace.
	Module string `json:"module_path"`
	// Output is where kept tests land, relative to the workspace.
	Output string `json:"output_path"`
	// Workspace is the root of the workspace the task was submitted from.
	Workspace string `json:"workspace"`
	// Agent names the backend that runs the task.
	Agent string `json:"agent"`
	// Attempt counts the attempts started so far; 0 while first queued.
	Attempt int `json:"attempt"`
	// MaxAttempts bounds the attempts after transient failures.
	MaxAttempts int `json:"max_attempts"`
	// LastError is the error of the latest failed attempt, or why a task
	// was requeued (a worker lost, a shutdown).
	LastError string `json:"last_error,omitempty"`
	// Progress is the running attempt's latest step, in words.
	Progress string `json:"progress,omitempty"`
	// Waiting says, for a QUEUED task, why no live worker can run it (none
	// runs its agent for its language); empty when one can, or when no
	// worker is live at all.
	Waiting string `json:"waiting,omitempty"`
	// Success is set once the task is COMPLETED: whether the kept tests
	// reach the coverage threshold.
	Success *bool `json:"success,omitempty"`
	// CreatedAt is when the task was submitted.
	CreatedAt time.Time `json:"created_at"`
	// StartedAt is when its latest attempt started; nil while never run.
	StartedAt *time.Time `json:"started_at,omitempty"`
	// CompletedAt is when it reached a final state; nil while live.
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	// Labels are the request's labels.
	Labels map[string]string `json:"labels,omitempty"`
}
