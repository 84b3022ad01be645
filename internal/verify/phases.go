package verify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
)

// maxRounds bounds the fix-point loops; each round drops at least one test,
// so it is never reached in practice.
const maxRounds = 200

// buildAndPass runs the suite until every remaining generated test builds
// and passes, dropping failures one by one, then checks that the existing
// tests still pass with them.
func (a *acceptance) buildAndPass(ctx context.Context) error {
	stalls := 0 // runs in a row killed before any test could be blamed
	for round := 0; round < maxRounds; round++ {
		alive := a.alive()
		if len(alive) == 0 {
			return nil
		}
		rr, err := a.run(ctx, selection{})
		if err != nil {
			return err
		}
		progress := false
		if rr.BuildFailed {
			// Go: nothing ran. Python: the files that could not be imported
			// are out, and the outcomes of the others stand.
			if err := a.handleBuild(ctx, rr.suiteResult, alive); err != nil {
				return err
			}
			progress = true
		}
		if a.dropFailed(rr, alive) {
			progress = true
		}
		if !progress && rr.Aborted && len(a.brokenExisting(rr.suiteResult)) == 0 {
			if stalls++; stalls >= 2 {
				// Killed twice before reaching the tests still waiting:
				// they are what does not finish.
				for _, c := range alive {
					if _, ran := rr.Tests[c.Name]; !ran && !c.dropped {
						a.drop(c, ReasonTimeout, fmt.Sprintf("the run was killed at its %s timeout twice before this test finished", a.s.o.TestTimeout), stagePassed)
						progress = true
					}
				}
			} else {
				continue
			}
		} else {
			stalls = 0
		}
		if !progress {
			// Only now, with the failing tests out, look for the tests that
			// wrote where they must not: bisection is cheaper without tests
			// that hang.
			if progress, err = a.handleDirt(ctx, rr, alive, selection{}); err != nil {
				return err
			}
		}
		if !progress {
			if progress, err = a.handleLimits(ctx, rr, alive, selection{}); err != nil {
				return err
			}
		}
		if progress {
			if err := a.removeDropped(ctx); err != nil {
				return err
			}
			continue
		}
		if broken := a.brokenExisting(rr.suiteResult); len(broken) > 0 {
			culprits, err := a.blame(ctx, alive, selection{}, a.breaks)
			if err != nil {
				return err
			}
			if len(culprits) > 0 {
				for _, c := range culprits {
					a.drop(c, ReasonBreaksSuite, "with this test, existing tests fail: "+strings.Join(broken, ", ")+"\n"+a.brokenOutput(rr.suiteResult, broken), stagePassed)
				}
				if err := a.removeDropped(ctx); err != nil {
					return err
				}
				continue
			}
			a.s.logf("# existing tests %s fail without the generated tests too; not held against them", strings.Join(broken, ", "))
		}
		a.settled = rr.suiteResult
		return nil
	}
	return fmt.Errorf("verify: no verdict after %d runs", maxRounds)
}

// dropFailed drops the generated tests that did not pass in rr: failed,
// timed out, skipped themselves, or did not run in a run that did. It
// reports whether it dropped any.
func (a *acceptance) dropFailed(rr *runResult, alive []*candidate) bool {
	dropped := false
	for _, c := range alive {
		o, ran := rr.Tests[c.Name]
		switch {
		case c.dropped:
		case !ran && (rr.Aborted || rr.BuildFailed):
			// The run died or did not build before reaching it; it runs
			// again next round.
		case !ran:
			a.drop(c, ReasonFailed, "the test did not run (a -run that matches nothing is not a pass): check its name, signature and build tags", stagePassed)
			dropped = true
		case o.Status == statusPass:
		case o.Status == statusTimeout:
			a.drop(c, ReasonTimeout, fmt.Sprintf("did not finish within %s\n%s", a.s.o.TestTimeout, o.Output), stagePassed)
			dropped = true
		case o.Status == statusSkip:
			a.drop(c, ReasonFailed, "the test skipped itself: a skipped test verifies nothing\n"+o.Output, stagePassed)
			dropped = true
		default:
			a.dropFailure(c, ReasonFailed, o.Output, stagePassed, rr.LimitHit)
			dropped = true
		}
	}
	return dropped
}

// stabilize runs the suite Runs-1 more times (Go: in shuffled order); a
// generated test that fails in any of them is flaky.
func (a *acceptance) stabilize(ctx context.Context) error {
	for run := 2; run <= a.s.o.Runs; run++ {
		alive := a.alive()
		if len(alive) == 0 {
			return nil
		}
		sel := selection{}
		if a.s.tc.language() == LanguageGo {
			sel.Seed = rand.Int64N(1<<62) + 1
			a.s.logf("# stability run %d of %d, shuffled with seed %d", run, a.s.o.Runs, sel.Seed)
		} else {
			a.s.logf("# stability run %d of %d", run, a.s.o.Runs)
		}
		rr, err := a.run(ctx, sel)
		if err != nil {
			return err
		}
		progress, err := a.handleDirt(ctx, rr, alive, sel)
		if err != nil {
			return err
		}
		if rr.BuildFailed {
			return fmt.Errorf("%w: the tests built in the first run but not in stability run %d: %s", ErrToolchain, run, excerpt(rr.BuildOutput))
		}
		for _, c := range alive {
			if c.dropped {
				continue
			}
			if o, ran := rr.Tests[c.Name]; ran && o.Status != statusPass {
				a.dropFailure(c, ReasonFlaky, fmt.Sprintf("passed in run 1 but not in run %d of %d (%s)\n%s", run, a.s.o.Runs, o.Status, o.Output), stageStable, rr.LimitHit)
				progress = true
			} else if !ran && !rr.Aborted {
				a.drop(c, ReasonFlaky, fmt.Sprintf("did not run in run %d of %d", run, a.s.o.Runs), stageStable)
				progress = true
			}
		}
		if !progress {
			if broken := a.brokenExisting(rr.suiteResult); len(broken) > 0 {
				culprits, err := a.blame(ctx, alive, sel, a.breaks)
				if err != nil {
					return err
				}
				for _, c := range culprits {
					a.drop(c, ReasonBreaksSuite, fmt.Sprintf("in run %d (order shuffled with -shuffle=%d), existing tests fail with this test: %s\n%s",
						run, sel.Seed, strings.Join(broken, ", "), a.brokenOutput(rr.suiteResult, broken)), stagePassed)
				}
				if len(culprits) == 0 {
					a.s.logf("# existing tests %s failed in run %d without the generated tests too; not held against them", strings.Join(broken, ", "), run)
				}
			}
		}
		if err := a.removeDropped(ctx); err != nil {
			return err
		}
		if !progress && a.settled != nil {
			a.settled = rr.suiteResult
		}
	}
	return nil
}

// gain keeps a test only when it covers something the baseline and the
// tests kept before it (in file order) do not.
func (a *acceptance) gain(ctx context.Context) error {
	alive := a.alive()
	if len(alive) == 0 {
		return nil
	}
	var units map[string]unitSet
	var alone map[string]string
	dirtied, err := a.guard(func() (err error) {
		units, alone, err = a.s.tc.perTest(ctx, a.s, &suiteResult{PerTest: a.units}, names(alive))
		return err
	})
	if err != nil {
		return err
	}
	if len(dirtied) > 0 {
		a.s.logf("# single-test runs changed %s; restored", strings.Join(dirtied, ", "))
	}
	acc := newUnitSet()
	acc.addAll(a.baseUnits)
	for _, c := range alive {
		if out, bad := alone[c.Name]; bad {
			a.drop(c, ReasonFlaky, "passes with the other tests but fails when run on its own\n"+lastLines(out, 20), stageStable)
			continue
		}
		u := units[c.Name]
		if u.newIn(acc) == 0 {
			a.drop(c, ReasonNoCoverageGain, fmt.Sprintf("covers nothing of %s that the existing tests and the tests kept before it do not", a.s.o.Module), stageImproved)
			continue
		}
		acc.addAll(u)
	}
	return a.removeDropped(ctx)
}

// confirm makes sure a run with exactly the kept tests passed, and keeps its
// coverage as coverage.after.
func (a *acceptance) confirm(ctx context.Context) error {
	for round := 0; round < maxRounds && a.settled == nil; round++ {
		alive := a.alive()
		if len(alive) == 0 {
			return nil
		}
		rr, err := a.run(ctx, selection{})
		if err != nil {
			return err
		}
		progress, err := a.handleDirt(ctx, rr, alive, selection{})
		if err != nil {
			return err
		}
		if !progress && rr.BuildFailed {
			if err := a.handleBuild(ctx, rr.suiteResult, alive); err != nil {
				return err
			}
			continue
		}
		for _, c := range alive {
			if o, ran := rr.Tests[c.Name]; !c.dropped && (!ran || o.Status != statusPass) {
				a.dropFailure(c, ReasonFlaky, "failed in the final run with the kept tests\n"+o.Output, stageStable, rr.LimitHit)
				progress = true
			}
		}
		if !progress {
			if broken := a.brokenExisting(rr.suiteResult); len(broken) > 0 {
				culprits, err := a.blame(ctx, alive, selection{}, a.breaks)
				if err != nil {
					return err
				}
				for _, c := range culprits {
					a.drop(c, ReasonBreaksSuite, "existing tests fail with this test: "+strings.Join(broken, ", "), stagePassed)
					progress = true
				}
			}
		}
		if err := a.removeDropped(ctx); err != nil {
			return err
		}
		if !progress {
			a.settled = rr.suiteResult
		}
	}
	return nil
}

// handleDirt deals with a run that left files behind in the task
// directory: the tests to blame are dropped.
func (a *acceptance) handleDirt(ctx context.Context, rr *runResult, alive []*candidate, sel selection) (bool, error) {
	if len(rr.Dirtied) == 0 {
		return false, nil
	}
	dirt := strings.Join(rr.Dirtied, ", ")
	a.s.logf("# the run left behind %s; undone", dirt)
	culprits, err := a.blame(ctx, alive, sel, func(r *runResult) bool { return len(r.Dirtied) > 0 })
	if err != nil {
		return false, err
	}
	if len(culprits) == 0 {
		a.s.logf("# the existing tests leave %s by themselves; not held against the generated tests", dirt)
		return false, nil
	}
	for _, c := range culprits {
		a.drop(c, ReasonLeavesFiles, "while it ran, the test left behind in the workspace: "+dirt+
			" (undone). A test must leave the workspace as it found it: write to t.TempDir() in Go, tmp_path in pytest", stagePassed)
	}
	return true, nil
}

// handleLimits deals with a run whose sandbox saw a limit reached while no
// failing test owned up to it (a test that ignored its failed forks): the
// tests to blame are dropped.
func (a *acceptance) handleLimits(ctx context.Context, rr *runResult, alive []*candidate, sel selection) (bool, error) {
	if len(rr.LimitHit) == 0 {
		return false, nil
	}
	hit := rr.LimitHit
	a.s.logf("# the run reached its %s limit", strings.Join(hit, " and "))
	culprits, err := a.blame(ctx, alive, sel, func(r *runResult) bool { return len(r.LimitHit) > 0 })
	if err != nil {
		return false, err
	}
	if len(culprits) == 0 {
		a.s.logf("# the existing tests or the build reach the %s limit by themselves; not held against the generated tests", strings.Join(hit, " and "))
		return false, nil
	}
	for _, c := range culprits {
		a.drop(c, ReasonResourceLimit, a.limitText(hit[0])+"\nthe run with this test reached it, though the test did not fail", stagePassed)
	}
	return true, nil
}
