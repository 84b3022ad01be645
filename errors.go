package handoff

import (
	"errors"
	"fmt"

	"github.com/handoff-dev/handoff/internal/database"
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
	ErrBadDatabase = database.ErrBadDatabase
	// ErrNoDatabase is returned by OpenExisting when there is no handoff
	// database where the configuration points; nothing was created.
	ErrNoDatabase = database.ErrNoDatabase
)

// FieldError is a rejection of one field of a Request (or Config). It
// matches ErrInvalidRequest with errors.Is. Its message names the field
// as Go callers set it; a front end (the command line, an HTTP API) can
// name its own flag or parameter for Field instead, with Problem.
type FieldError struct {
	// Field is the field's Go name: "Request.Module", "Config.Agents".
	Field string
	// Problem says what is wrong with its value and how to fix it, without
	// naming the field.
	Problem string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrInvalidRequest, e.Field, e.Problem)
}

// Unwrap makes a FieldError match ErrInvalidRequest.
func (e *FieldError) Unwrap() error { return ErrInvalidRequest }

// fieldError rejects field with a problem formatted from format and args.
func fieldError(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}
