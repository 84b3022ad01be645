package openhands

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is. The messages of the errors that
// wrap them say what happened and what to change.
var (
	// ErrUnauthorized means the server answered 401 or 403: the API key is
	// missing or wrong. It is never retried.
	ErrUnauthorized = errors.New("openhands: the server refused the API key")
	// ErrCircuitOpen means recent requests to the server kept failing and
	// handoff stopped contacting it for a while.
	ErrCircuitOpen = errors.New("openhands: circuit open, the server keeps failing")
	// ErrBudget means the task's accumulated LLM cost reached the budget.
	ErrBudget = errors.New("openhands: budget exhausted")
	// ErrDeadline means the conversation was still running at the deadline.
	ErrDeadline = errors.New("openhands: deadline reached")
	// ErrMaxIterations means the conversation used all its iterations.
	ErrMaxIterations = errors.New("openhands: max iterations reached")
	// ErrStuck means the server's stuck detection stopped the conversation.
	ErrStuck = errors.New("openhands: the agent got stuck")
	// ErrConversation means the conversation ended in an error.
	ErrConversation = errors.New("openhands: the conversation failed")
	// ErrServerRestarted means the server restarted under a running
	// conversation (it reloaded as error).
	ErrServerRestarted = errors.New("openhands: the server restarted mid-run")
	// ErrLLM means the conversation ended in an LLM error (rate limit,
	// context too long, model unavailable) on every model configured.
	ErrLLM = errors.New("openhands: LLM error")
)

// statusError is an HTTP answer the client did not expect. Body is already
// redacted and shortened.
type statusError struct {
	Method, Path string
	Code         int
	Body         string
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("openhands: %s %s answered %d", e.Method, e.Path, e.Code)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// httpStatus is the HTTP status of a server's answer in err, or 0.
func httpStatus(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// retryable is an error the client gave up on after retries (5xx, 429 or no
// answer): worth another attempt of the whole task later.
type retryable struct{ err error }

func (e *retryable) Error() string { return e.err.Error() }
func (e *retryable) Unwrap() error { return e.err }

// isRetryable reports whether err is a server or network fault that a later
// attempt may not meet.
func isRetryable(err error) bool {
	var r *retryable
	return errors.As(err, &r) || errors.Is(err, ErrCircuitOpen)
}
