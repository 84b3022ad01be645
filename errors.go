package handoff

import (
	"errors"

	"github.com/handoff-dev/handoff/internal/engine"
)

var (
	// ErrInvalidRequest wraps every rejection of a request by Submit; the
	// message names the field and the fix. No task is created.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrNotFound is returned for an unknown task ID.
	ErrNotFound = errors.New("task not found")
	// ErrWaitTimeout is returned by Results when the wait ends before the
	// task does. The task keeps running.
	ErrWaitTimeout = errors.New("wait timed out; the task is still running")
	// ErrIdempotencyConflict is returned by Submit when the idempotency key
	// was used before with a different request.
	ErrIdempotencyConflict = errors.New("idempotency key already used for a different request")
	// ErrBadDatabase is returned by Open for a database that cannot be
	// opened or holds something other than handoff's tables.
	ErrBadDatabase = engine.ErrBadDatabase
)
