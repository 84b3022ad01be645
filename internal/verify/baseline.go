package verify

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/sandbox"
)

// Baseline is how the existing tests fared before the agent ran. The engine
// stores it (it is JSON) and passes it to Verify.
type Baseline struct {
	Coverage  float64                  `json:"coverage"`
	Branch    *float64                 `json:"branch,omitempty"`
	Functions []agent.FunctionCoverage `json:"functions,omitempty"`
	// Passed is false for a red baseline: the existing tests failed or did
	// not build. Verify then judges only the generated tests, and requires
	// only the existing tests that passed to keep passing.
	Passed bool   `json:"passed"`
	Error  string `json:"error,omitempty"`
	// PassedTests and FailedTests name the existing tests by outcome.
	PassedTests []string `json:"passed_tests,omitempty"`
	FailedTests []string `json:"failed_tests,omitempty"`
	// Covered holds the coverage units the existing tests reach, for the
	// coverage-gain check.
	Covered []string `json:"covered,omitempty"`
	// OutputTests names the tests already in the output file, which are not
	// generated ones; OutputExisted says whether the file existed.
	OutputExisted bool     `json:"output_existed,omitempty"`
	OutputTests   []string `json:"output_tests,omitempty"`
	// BrokenFiles lists files with build or import errors at baseline;
	// their errors are not held against generated tests.
	BrokenFiles []string `json:"broken_files,omitempty"`
	// Touched lists what the existing tests create, change or delete in
	// the task directory when they run; it is not held against generated
	// tests.
	Touched     []string                 `json:"touched,omitempty"`
	Commands    []handofftype.CommandRun `json:"commands,omitempty"`
	Containment string                   `json:"containment"`
	Runs        int                      `json:"runs"`
	DurationMS  int64                    `json:"duration_ms"`
}

// Measure runs the existing tests of the module's scope once in o.Dir and
// measures the module's coverage. It leaves o.Dir as it found it, apart
// from files the tests themselves modify (listed in Touched). Failing tests
// are a red baseline, not an error; the error is for infrastructure
// failures.
func Measure(ctx context.Context, o Options) (*Baseline, error) {
	start := time.Now()
	o, err := o.normalize()
	if err != nil {
		return nil, err
	}
	s, err := newSession(o)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := s.tc.prepare(ctx, s); err != nil {
		return nil, err
	}
	b := &Baseline{Passed: true}
	if src, err := os.ReadFile(s.abs(o.Output)); err == nil {
		b.OutputExisted = true
		tests, err := s.tc.parse(ctx, s, o.Output, src)
		if _, bad := asParseError(err); err != nil && !bad {
			return nil, err
		}
		for _, t := range tests {
			b.OutputTests = append(b.OutputTests, t.Name)
		}
	}
	s.scope = s.tc.scope(o, nil)
	before, err := takeFingerprint(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("scan task directory: %w", err)
	}
	res, err := s.tc.suite(ctx, s, selection{})
	if err != nil {
		return nil, err
	}
	ch, err := changedSince(o.Dir, before)
	if err != nil {
		return nil, fmt.Errorf("scan task directory: %w", err)
	}
	removeAdded(o.Dir, ch.Added)
	b.Touched = append(append(outermost(ch.Added), ch.Modified...), ch.Deleted...)
	for name, out := range res.Tests {
		if out.Status == statusPass {
			b.PassedTests = append(b.PassedTests, name)
		} else if out.Status != statusSkip {
			b.FailedTests = append(b.FailedTests, name)
		}
	}
	sort.Strings(b.PassedTests)
	sort.Strings(b.FailedTests)
	for _, is := range res.Build {
		if is.File != "" && !slices.Contains(b.BrokenFiles, is.File) {
			b.BrokenFiles = append(b.BrokenFiles, is.File)
		}
	}
	switch {
	case res.BuildFailed:
		b.Passed = false
		b.Error = "the existing tests do not build: " + excerpt(res.BuildOutput)
	case len(b.FailedTests) > 0:
		b.Passed = false
		b.Error = "existing tests fail: " + strings.Join(b.FailedTests, ", ")
	case res.Aborted:
		b.Passed = false
		b.Error = "the existing tests did not finish: " + excerpt(res.Output)
	}
	if res.Coverage != nil {
		b.Coverage = res.Coverage.Percent
		b.Branch = res.Coverage.Branch
		b.Functions = res.Coverage.Functions
		b.Covered = res.Coverage.Covered.sorted()
	}
	b.Commands = s.commands
	b.Containment = s.containmentUsed()
	b.Runs = s.runs
	b.DurationMS = time.Since(start).Milliseconds()
	s.logf("# baseline: coverage %.1f%%, %d tests passed, %d failed", b.Coverage, len(b.PassedTests), len(b.FailedTests))
	return b, nil
}

// containmentUsed is the containment of the session's sandboxed runs, or
// what one would get when none ran.
func (s *session) containmentUsed() string {
	if s.containment != "" {
		return s.containment
	}
	if sandbox.BwrapAvailable() {
		return sandbox.ContainmentBwrap
	}
	return sandbox.DefaultContainment()
}
