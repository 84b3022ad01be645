package handofftype

import "errors"

// FailureClass says in one word why a FAILED task has no verdict: a small
// fixed set, for dashboards and metrics to count by (Error says the rest).
type FailureClass string

// The failure classes.
const (
	// FailureTimeout: the task's own deadline passed (Request.Timeout).
	FailureTimeout FailureClass = "timeout"
	// FailureWorkerLost: its worker fell silent on the last attempt.
	FailureWorkerLost FailureClass = "worker_lost"
	// FailureAgent: the agent failed (after every attempt, for a transient
	// failure).
	FailureAgent FailureClass = "agent"
	// FailureVerify: verification reached no verdict (the test toolchain,
	// the existing tests' baseline).
	FailureVerify FailureClass = "verify"
	// FailureSetup: the task's workspace could not be prepared (its
	// snapshot, a directory, the agent's configuration).
	FailureSetup FailureClass = "setup"
	// FailureInternal: anything else; a bug of handoff's.
	FailureInternal FailureClass = "internal"
)

// FailureClasses lists every class, in the order above.
var FailureClasses = []FailureClass{FailureTimeout, FailureWorkerLost, FailureAgent, FailureVerify, FailureSetup, FailureInternal}

// classed is an error marked with its failure class.
type classed struct {
	class FailureClass
	err   error
}

func (e *classed) Error() string { return e.err.Error() }
func (e *classed) Unwrap() error { return e.err }

// Classify marks err with class; ClassOf reads it back through any
// wrapping. A nil err stays nil.
func Classify(class FailureClass, err error) error {
	if err == nil {
		return nil
	}
	return &classed{class: class, err: err}
}

// ClassOf returns the class err was marked with by Classify (the
// outermost mark when there are several), or "" when it bears none.
func ClassOf(err error) FailureClass {
	var c *classed
	if errors.As(err, &c) {
		return c.class
	}
	return ""
}
