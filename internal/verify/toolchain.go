package verify

import (
	"context"
	"errors"
	"fmt"

	"github.com/handoff-dev/handoff/agent"
)

// toolchain is what acceptance needs from one language. One value serves
// one session: prepare stores what it learns about the module in it. Every
// implementation passes the conformance suite in conformance_test.go
// (runToolchainConformance).
type toolchain interface {
	// language is LanguageGo or LanguagePython.
	language() string
	// prepare readies the session to run tests: module downloads outside the
	// sandbox, package facts, helper files in the scratch directory.
	prepare(ctx context.Context, s *session) error
	// parse lists the test functions of a test file, in file order. A file
	// that does not parse returns a *parseError.
	parse(ctx context.Context, s *session, rel string, src []byte) ([]testFunc, error)
	// remove returns src without the named test functions (Go: and without
	// the imports only they used).
	remove(ctx context.Context, s *session, rel string, src []byte, names []string) ([]byte, error)
	// scope lists the paths (relative to Dir) whose tests a suite run
	// covers, given the test files the agent added or changed.
	scope(o Options, changed []string) []string
	// suite runs the tests of the scope once, measuring the module's
	// coverage, and reports each test's outcome.
	suite(ctx context.Context, s *session, sel selection) (*suiteResult, error)
	// perTest measures what each named test covers on its own. seen holds,
	// in PerTest, what suite runs measured per test; a toolchain may answer
	// from it without running anything. Tests that fail on their own are in
	// the second map, with an excerpt.
	perTest(ctx context.Context, s *session, seen *suiteResult, names []string) (map[string]unitSet, map[string]string, error)
}

// newToolchain returns a fresh toolchain for a language.
func newToolchain(language string) (toolchain, error) {
	switch language {
	case LanguageGo:
		return &goToolchain{}, nil
	case LanguagePython:
		return &pyToolchain{}, nil
	}
	return nil, fmt.Errorf("%w: language %q", ErrUnsupportedModule, language)
}

// testFunc is one test function of a test file.
type testFunc struct {
	// Name identifies the test in results and selections: Go "TestX";
	// Python "tests/test_x.py::test_y" or "tests/test_x.py::TestK::test_y".
	Name   string `json:"name"`
	File   string `json:"file"`   // relative to Dir
	Start  int    `json:"start"`  // first line, doc comment or decorators included
	End    int    `json:"end"`    // last line
	Assert bool   `json:"assert"` // has an assertion or failure call
}

// parseError is a test file that does not parse.
type parseError struct {
	File string
	Msg  string
}

func (e *parseError) Error() string { return e.File + ": " + e.Msg }

func asParseError(err error) (*parseError, bool) {
	var pe *parseError
	ok := errors.As(err, &pe)
	return pe, ok
}

// selection narrows or reorders one suite run.
type selection struct {
	Skip []string // test names not to run
	Seed int64    // non-zero: shuffle the order with this seed (Go -shuffle)
}

// status is how one test ended in one run.
type status string

const (
	statusPass    status = "pass"
	statusFail    status = "fail"
	statusSkip    status = "skip"
	statusTimeout status = "timeout"
)

// outcome is one test's result in one run.
type outcome struct {
	Status status
	Output string // failure output, trimmed
}

// buildIssue is one compiler (or import) error, located when possible.
type buildIssue struct {
	File string // relative to Dir; empty when unknown
	Line int
	Msg  string
	// Also are further positions the error names ("other declaration of").
	Also []position
}

// position is a file and line.
type position struct {
	File string
	Line int
}

// suiteResult is one run of the scope's tests.
type suiteResult struct {
	// BuildFailed means the tests could not be built (Go) or some test files
	// could not be collected (Python); Build holds the located errors and
	// BuildOutput the raw text.
	BuildFailed bool
	Build       []buildIssue
	BuildOutput string
	// Tests holds the outcome of every test that ran, by name (Go: top-level
	// test; Python: test function, parameter cases folded).
	Tests map[string]outcome
	// Aborted means the run ended early (timeout, crash): tests missing
	// from Tests did not run.
	Aborted bool
	// Output is the tail of the run's output, for excerpts when a failure
	// cannot be pinned on one test.
	Output string
	// Coverage is the module's coverage in this run; nil when none was
	// measured (the build failed).
	Coverage *moduleCoverage
	// PerTest holds what each test covered on its own, when the toolchain
	// measures it in the same run (Python dynamic contexts).
	PerTest map[string]unitSet
}

// moduleCoverage is the coverage of the module in one run.
type moduleCoverage struct {
	Percent   float64
	Branch    *float64
	Functions []agent.FunctionCoverage
	// Covered holds the units reached: Go statement blocks, Python lines and
	// branch arcs.
	Covered unitSet
}
