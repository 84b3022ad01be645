package handofftype

import "time"

// The defaults of a Request: what Submit fills in for a field left zero, so
// that the stored request says exactly what runs. They are the one home of
// these figures: the command line's flag defaults, verification's and the
// worker's fallbacks all read them here.
const (
	// DefaultCoverage is the coverage threshold in percent.
	DefaultCoverage = 80.0
	// DefaultTimeout bounds a whole task.
	DefaultTimeout = 30 * time.Minute
	// DefaultTestTimeout bounds one test run.
	DefaultTestTimeout = 5 * time.Minute
	// DefaultMaxAttempts bounds attempts after transient failures.
	DefaultMaxAttempts = 3
	// DefaultMaxRounds bounds repair rounds (agent, verify, feedback).
	DefaultMaxRounds = 3
	// DefaultRuns is how many runs a test must pass to count as stable.
	DefaultRuns = 3
	// DefaultPriority orders a task among the queued ones.
	DefaultPriority = PriorityNormal
	// DefaultApply says when kept tests are written to the workspace.
	DefaultApply = ApplyImproved
)
