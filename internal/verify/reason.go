package verify

// Reason codes for dropped tests, used verbatim in results
// (tests.dropped[].reason). They are listed in the order the checks run.
const (
	// ReasonDisallowedChange: the agent touched a non-test file, go.mod or
	// go.sum, requirements or a path outside the output area. The entry is
	// named by the path.
	ReasonDisallowedChange = "disallowed_change"
	// ReasonParseError: the test file does not parse. The entry is named by
	// the file.
	ReasonParseError = "parse_error"
	// ReasonNoAssertion: the test has no assertion or failure call.
	ReasonNoAssertion = "no_assertion"
	// ReasonBuildFailed: the test does not compile (Go) or its file cannot be
	// imported by pytest (Python).
	ReasonBuildFailed = "build_failed"
	// ReasonFailed: the test fails (or skips itself) in the first run.
	ReasonFailed = "failed"
	// ReasonTimeout: the test did not finish within the per-run timeout.
	ReasonTimeout = "timeout"
	// ReasonResourceLimit: the test reached a limit of its run: the bytes
	// a run may write, its processes or its memory. The excerpt's first
	// line names the limit (sandbox.LimitWrite, LimitProcesses,
	// LimitMemory).
	ReasonResourceLimit = "resource_limit"
	// ReasonLeavesFiles: while it ran, the test created, changed or
	// deleted files in the task directory and did not clean up; the
	// excerpt names the paths. Tests write to t.TempDir() or tmp_path.
	ReasonLeavesFiles = "leaves_files"
	// ReasonBreaksSuite: existing tests that passed before fail with the test
	// present, or under shuffled order (Go).
	ReasonBreaksSuite = "breaks_suite"
	// ReasonFlaky: the test passed once but failed in one of the stability
	// runs, or fails when run on its own.
	ReasonFlaky = "flaky"
	// ReasonNoCoverageGain: the test covers nothing that the baseline and the
	// tests kept before it do not already cover.
	ReasonNoCoverageGain = "no_coverage_gain"
)
