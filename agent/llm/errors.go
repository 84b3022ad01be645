package llm

import "errors"

// Sentinel errors, matched with errors.Is. The errors that wrap them say
// what happened and what to change.
var (
	// ErrUnauthorized means the endpoint answered 401 or 403. Never retried.
	ErrUnauthorized = errors.New("llm: the endpoint refused the API key")
	// ErrUnavailable means the endpoint kept answering 429, 5xx or not at
	// all after retries with backoff. The task is retried later (transient).
	ErrUnavailable = errors.New("llm: the endpoint is unavailable")
	// ErrCircuitOpen means recent calls to the endpoint kept failing and
	// handoff stopped calling it for a while (transient).
	ErrCircuitOpen = errors.New("llm: circuit open, the endpoint keeps failing")
	// ErrModel means the endpoint does not serve the model, on every model
	// configured.
	ErrModel = errors.New("llm: model not available")
	// ErrRequest means the endpoint refused the request (400, 413, 422).
	ErrRequest = errors.New("llm: the endpoint refused the request")
	// ErrBudget means the next call could exceed the task's budget.
	ErrBudget = errors.New("llm: budget exhausted")
	// ErrRefused means the model refused twice.
	ErrRefused = errors.New("llm: the model refused")
	// ErrTruncated means the answer was cut at max_tokens twice.
	ErrTruncated = errors.New("llm: the answer was cut at the token limit")
	// ErrEmpty means the model answered nothing twice.
	ErrEmpty = errors.New("llm: the answer was empty")
	// ErrMalformed means the answer did not parse twice (no single fenced
	// block, bad JSON, a file that is not valid source).
	ErrMalformed = errors.New("llm: the answer did not parse")
	// ErrKeptChanged means the model rewrote tests that verification kept,
	// twice.
	ErrKeptChanged = errors.New("llm: the answer rewrote kept tests")
	// ErrTooLarge means the module does not fit the context window even cut
	// to its uncovered functions.
	ErrTooLarge = errors.New("llm: the module does not fit the model's context")
)
