// Package verify is handoff's assured acceptance of generated tests: a test
// counts only when it builds, passes reliably, leaves the existing suite
// green and raises the module's coverage.
//
// The engine calls it at three points of a task:
//
//   - Measure, before the agent runs: the existing tests run once in the task
//     directory and the module's coverage is recorded (coverage.before).
//   - Verify, after each agent round: every change the agent made is
//     classified, each generated test goes through the acceptance funnel
//     (cheapest check first, stopping at the first failure), failing tests
//     are removed from their files one by one, and the report gives the
//     module's coverage with exactly the kept tests (coverage.after), the
//     funnel, the commands run and, for a repair round, feedback for the
//     agent.
//   - Recheck, before applying when the workspace moved: the kept tests run
//     against the workspace as it is now and only those that still pass are
//     applied.
//
// Languages plug in behind one internal interface, toolchain, with one
// implementation per language (Go: go test with -coverpkg and
// golang.org/x/tools/cover; Python: pytest under coverage.py) and a
// conformance suite both pass. Every test run goes through internal/sandbox:
// its own process group, a timeout, a scrubbed environment, limits on the
// bytes it writes, its processes and its memory and, where bubblewrap
// works, a minimal view of the file system (no $HOME, no secrets of /etc)
// without network. What leaves a run (excerpts, feedback, the transcript)
// is redacted by internal/redact.
//
// docs/verification.md describes the funnel, the reason codes, containment,
// the limits and how coverage is measured.
package verify
