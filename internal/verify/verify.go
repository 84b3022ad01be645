package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// Input is what Verify judges: the task directory after an agent round.
type Input struct {
	Options
	// Baseline is what Measure returned for this task directory before the
	// agent ran.
	Baseline *Baseline
	// Changes is what the agent changed in Dir since the snapshot
	// (workspace.Diff).
	Changes []workspace.Change
	// Restore puts Dir/rel back as it is in the snapshot (removing it when
	// the snapshot has none). Verify uses it for rejected changes and for
	// test files left with no kept test.
	Restore func(rel string) error
}

// Report is the verdict on one agent round.
type Report struct {
	Coverage  handofftype.Coverage        `json:"coverage"`
	Functions []handofftype.FunctionDelta `json:"functions,omitempty"`
	Kept      []string                    `json:"kept"`
	Dropped   []agent.Dropped             `json:"dropped"`
	Funnel    handofftype.Funnel          `json:"funnel"`
	Commands  []handofftype.CommandRun    `json:"commands,omitempty"`
	// Rejected lists the changed paths that were undone: non-test files,
	// files outside the output area, deletions, caches.
	Rejected []string `json:"rejected,omitempty"`
	// Containment is how the tests ran: sandbox.ContainmentBwrap,
	// sandbox.ContainmentPIDNamespace or sandbox.ContainmentProcessGroup.
	Containment string `json:"containment"`
	// Gaps says what the containment lacked: without bubblewrap, its file
	// system view, network cut and PID namespace; limits the machine could
	// not enforce.
	Gaps []string `json:"containment_gaps,omitempty"`
	// Files holds the final contents of the test files that carry exactly
	// the kept tests (relative paths); Dir is left in the same state.
	Files map[string][]byte `json:"files,omitempty"`
	// Feedback is the report as an agent's repair round takes it.
	Feedback *agent.Feedback `json:"feedback,omitempty"`
	// Success: at least one test kept, every kept test stable, and
	// coverage.after at or above the threshold; or, with nothing kept, the
	// threshold already met by the existing tests (AlreadyMet).
	Success bool `json:"success"`
	// Runs counts the test runs (suite runs and single-test runs).
	Runs       int   `json:"runs"`
	DurationMS int64 `json:"duration_ms"`
}

// Verify judges the tests an agent wrote in in.Dir. Test failures are
// verdicts in the Report; the error is for infrastructure failures (the
// toolchain missing, ctx done).
func Verify(ctx context.Context, in Input) (*Report, error) {
	start := time.Now()
	if in.Baseline == nil {
		return nil, errors.New("verify: no baseline; call Measure before the agent runs and pass its result")
	}
	o, err := in.Options.normalize()
	if err != nil {
		return nil, err
	}
	in.Options = o
	s, err := newSession(o)
	if err != nil {
		return nil, err
	}
	defer s.close()
	a := newAcceptance(s, in.Baseline, in.Restore)
	allowed, err := a.undoDisallowed(in.Changes)
	if err != nil {
		return nil, err
	}
	if err := s.tc.prepare(ctx, s); err != nil {
		return nil, err
	}
	if err := a.classify(ctx, allowed); err != nil {
		return nil, err
	}
	if err := a.judge(ctx); err != nil {
		return nil, err
	}
	r := a.report()
	r.DurationMS = time.Since(start).Milliseconds()
	s.logf("# verification: %d kept, %d dropped, coverage %.1f%% → %.1f%% (threshold %.1f%%), %d test runs in %s",
		len(r.Kept), len(r.Dropped), r.Coverage.Before, r.Coverage.After, r.Coverage.Threshold, r.Runs, time.Since(start).Round(time.Millisecond))
	return r, nil
}

// judge takes the generated tests through the dynamic checks: build and
// pass, stability, coverage gain, and a final run with exactly the kept
// tests.
func (a *acceptance) judge(ctx context.Context) error {
	if len(a.alive()) == 0 {
		return a.restoreUnused(ctx)
	}
	a.s.scope = a.s.tc.scope(a.s.o, a.paths())
	steps := []func(context.Context) error{a.buildAndPass, a.stabilize, a.gain, a.confirm}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return a.restoreUnused(ctx)
}

// fmtPercent renders a percentage for prose.
func fmtPercent(p float64) string { return fmt.Sprintf("%.1f%%", p) }
