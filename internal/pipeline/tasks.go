package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/handoff-dev/handoff/handofftype"
)

// ErrWaitTimeout is matched (errors.Is) by the error Tasks.Wait returns when
// its timeout passes before the task is done. The task keeps running.
var ErrWaitTimeout = errors.New("wait timed out; the task keeps running")

// Tasks is what a pipeline needs of the task engine. The public
// handoff.Client satisfies it through a small adapter.
type Tasks interface {
	// Submit queues a task and returns its ID without waiting for it.
	Submit(ctx context.Context, r handofftype.Request) (string, error)
	// SubmitMany queues several tasks at once, all or none, from one state
	// of the workspace, and returns their IDs in order.
	SubmitMany(ctx context.Context, rs []handofftype.Request) ([]string, error)
	// Status reads a task's state without waiting on it.
	Status(ctx context.Context, id string) (*handofftype.Status, error)
	// Wait returns the task's result once it is in a final state. A timeout
	// of zero or less waits until ctx is done; when a positive timeout passes
	// first, the error matches ErrWaitTimeout.
	Wait(ctx context.Context, id string, timeout time.Duration) (*handofftype.Result, error)
	// Cancel stops a task.
	Cancel(ctx context.Context, id string) error
}
