package verify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
)

// maxRounds bounds the fix-point loops; each round drops at least one test,
// so it is never reached in practice.
const maxRounds = 200

// runResult is one suite run and what it did to the task directory.
type runResult struct {
	*suiteResult
	// Dirtied lists files outside the generated tests that the run modified
	// or deleted (already put back).
	Dirtied []string
}

// run runs the suite once with sel, then undoes whatever the run wrote in
// the task directory: added files are removed, modified or deleted ones
// restored.
func (a *acceptance) run(ctx context.Context, sel selection) (*runResult, error) {
	var res *suiteResult
	dirtied, err := a.guard(func() (err error) {
		res, err = a.s.tc.suite(ctx, a.s, sel)
		return err
	})
	if err != nil {
		return nil, err
	}
	a.forgiveBaselineBreakage(res)
	rr := &runResult{suiteResult: res, Dirtied: dirtied}
	for name, u := range res.PerTest {
		if o, ok := res.Tests[name]; ok && o.Status == statusPass {
			a.units[name] = u
		}
	}
	return rr, nil
}

// guard runs tests through f and then undoes whatever they wrote in the
// task directory: added files are removed, modified or deleted ones
// restored. It returns the modified or deleted files, but for those the
// existing tests change by themselves.
func (a *acceptance) guard(f func() error) ([]string, error) {
	before, err := takeFingerprint(a.s.o.Dir)
	if err != nil {
		return nil, fmt.Errorf("scan task directory: %w", err)
	}
	if err := f(); err != nil {
		return nil, err
	}
	ch, err := changedSince(a.s.o.Dir, before)
	if err != nil {
		return nil, fmt.Errorf("scan task directory: %w", err)
	}
	removeAdded(a.s.o.Dir, ch.Added)
	touched := map[string]bool{}
	for _, t := range a.baseline.Touched {
		touched[t] = true
	}
	var dirtied []string
	for _, p := range append(ch.Modified, ch.Deleted...) {
		if f := a.byPath[p]; f != nil && !f.gone {
			if err := a.write(f, f.src); err != nil {
				return nil, err
			}
		} else if err := a.undo(p); err != nil {
			return nil, err
		}
		if !touched[p] {
			dirtied = append(dirtied, p)
		}
	}
	return dirtied, nil
}

// forgiveBaselineBreakage drops the build issues of existing files that
// were broken at baseline already (a Python test file that cannot be
// imported), when tests ran nonetheless.
func (a *acceptance) forgiveBaselineBreakage(res *suiteResult) {
	if !res.BuildFailed || len(res.Tests) == 0 || len(a.baseline.BrokenFiles) == 0 {
		return
	}
	broken := map[string]bool{}
	for _, f := range a.baseline.BrokenFiles {
		broken[f] = true
	}
	var keep []buildIssue
	for _, is := range res.Build {
		if !broken[is.File] || a.byPath[is.File] != nil {
			keep = append(keep, is)
		}
	}
	res.Build = keep
	res.BuildFailed = len(keep) > 0
}

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
		for _, c := range alive {
			o, ran := rr.Tests[c.Name]
			switch {
			case c.dropped:
			case !ran && (rr.Aborted || rr.BuildFailed):
				// The run died or did not build before reaching it; it runs
				// again next round.
			case !ran:
				a.drop(c, ReasonFailed, "the test did not run (a -run that matches nothing is not a pass): check its name, signature and build tags", stagePassed)
				progress = true
			case o.Status == statusPass:
			case o.Status == statusTimeout:
				a.drop(c, ReasonTimeout, fmt.Sprintf("did not finish within %s\n%s", a.s.o.TestTimeout, o.Output), stagePassed)
				progress = true
			case o.Status == statusSkip:
				a.drop(c, ReasonFailed, "the test skipped itself: a skipped test verifies nothing\n"+o.Output, stagePassed)
				progress = true
			default:
				a.drop(c, ReasonFailed, o.Output, stagePassed)
				progress = true
			}
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
				a.drop(c, ReasonFlaky, fmt.Sprintf("passed in run 1 but not in run %d of %d (%s)\n%s", run, a.s.o.Runs, o.Status, o.Output), stageStable)
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
				a.drop(c, ReasonFlaky, "failed in the final run with the kept tests\n"+o.Output, stageStable)
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

// handleDirt deals with a run that changed files it must not: the tests to
// blame are dropped as disallowed changes.
func (a *acceptance) handleDirt(ctx context.Context, rr *runResult, alive []*candidate, sel selection) (bool, error) {
	if len(rr.Dirtied) == 0 {
		return false, nil
	}
	dirt := strings.Join(rr.Dirtied, ", ")
	a.s.logf("# the run changed %s; restored", dirt)
	culprits, err := a.blame(ctx, alive, sel, func(r *runResult) bool { return len(r.Dirtied) > 0 })
	if err != nil {
		return false, err
	}
	if len(culprits) == 0 {
		a.s.logf("# the existing tests change %s by themselves; not held against the generated tests", dirt)
		return false, nil
	}
	for _, c := range culprits {
		a.drop(c, ReasonDisallowedChange, "while it ran, the test changed "+dirt+" (restored); tests may write only to temporary directories", stagePassed)
	}
	return true, nil
}

// handleBuild drops the tests that a build failure points at, fixes imports
// that only dropped tests used, and when nothing can be pinned down drops
// every remaining test.
func (a *acceptance) handleBuild(ctx context.Context, res *suiteResult, alive []*candidate) error {
	progress := false
	fixes := map[*testFile][]string{}
	for _, is := range res.Build {
		if m := unusedImport.FindStringSubmatch(is.Msg); m != nil {
			if f := a.byPath[is.File]; f != nil && !f.gone {
				fixes[f] = append(fixes[f], m[1])
				continue
			}
		}
		for _, p := range append([]position{{File: is.File, Line: is.Line}}, is.Also...) {
			f := a.byPath[p.File]
			if f == nil || f.gone {
				continue
			}
			if c := f.candidateAt(p.Line); c != nil {
				if !c.dropped {
					a.drop(c, ReasonBuildFailed, is.Msg, stageBuilt)
					progress = true
				}
				continue
			}
			// An error outside any generated test (a helper, the imports,
			// the package clause) takes the whole file down.
			if err := a.dropFile(ctx, f, ReasonBuildFailed, a.issuesIn(res, f.rel), stageBuilt); err != nil {
				return err
			}
			progress = true
		}
	}
	for f, paths := range fixes {
		src, err := removeGoImports(f.rel, f.src, paths)
		if err != nil {
			return err
		}
		a.s.logf("# removed unused imports %s from %s", strings.Join(paths, ", "), f.rel)
		if err := a.rewrite(ctx, f, src); err != nil {
			return err
		}
		progress = true
	}
	if !progress {
		for _, f := range a.files {
			if !f.gone && strings.Contains(res.BuildOutput, f.rel) {
				if err := a.dropFile(ctx, f, ReasonBuildFailed, a.issuesIn(res, f.rel), stageBuilt); err != nil {
					return err
				}
				progress = true
			}
		}
	}
	if !progress && !anyRan(res, alive) {
		// Nothing can be pinned down and nothing ran: every test is out.
		for _, c := range alive {
			a.drop(c, ReasonBuildFailed, res.BuildOutput, stageBuilt)
		}
	}
	return a.removeDropped(ctx)
}

func anyRan(res *suiteResult, cands []*candidate) bool {
	for _, c := range cands {
		if _, ok := res.Tests[c.Name]; ok {
			return true
		}
	}
	return false
}

var unusedImport = regexp.MustCompile(`^"([^"]+)" imported (?:as \S+ )?and not used`)

// issuesIn collects the build messages about one file.
func (a *acceptance) issuesIn(res *suiteResult, rel string) string {
	var b strings.Builder
	for _, is := range res.Build {
		if is.File == rel {
			fmt.Fprintf(&b, "%s:%d: %s\n", is.File, is.Line, is.Msg)
		}
	}
	if b.Len() == 0 {
		return res.BuildOutput
	}
	return b.String()
}

func (f *testFile) candidateAt(line int) *candidate {
	for _, c := range f.cands {
		if !c.removed && line >= c.Start && line <= c.End {
			return c
		}
	}
	return nil
}

// brokenExisting lists the tests that passed at baseline and did not pass
// in this run.
func (a *acceptance) brokenExisting(res *suiteResult) []string {
	var out []string
	for name := range a.baseOK {
		if _, generated := a.s.testFile[name]; generated {
			continue
		}
		o, ran := res.Tests[name]
		if (ran && (o.Status == statusFail || o.Status == statusTimeout)) || (!ran && res.Aborted) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func (a *acceptance) breaks(r *runResult) bool {
	return len(a.brokenExisting(r.suiteResult)) > 0
}

func (a *acceptance) brokenOutput(res *suiteResult, broken []string) string {
	var b strings.Builder
	for _, n := range broken {
		if o, ok := res.Tests[n]; ok && o.Output != "" {
			b.WriteString(n + ": " + o.Output + "\n")
		}
	}
	return b.String()
}

// blame finds the generated tests that make bad true: first a run with none
// of them (when it is bad too, none is to blame), then bisection, running
// the existing tests with half of the suspects at a time.
func (a *acceptance) blame(ctx context.Context, suspects []*candidate, sel selection, bad func(*runResult) bool) ([]*candidate, error) {
	try := func(subset []*candidate) (bool, error) {
		in := map[*candidate]bool{}
		for _, c := range subset {
			in[c] = true
		}
		s := sel
		s.Skip = nil
		for _, c := range suspects {
			if !in[c] {
				s.Skip = append(s.Skip, c.Name)
			}
		}
		rr, err := a.run(ctx, s)
		if err != nil {
			return false, err
		}
		return bad(rr), nil
	}
	a.s.logf("# looking for the generated tests to blame among %d", len(suspects))
	if b, err := try(nil); err != nil || b {
		return nil, err
	}
	if b, err := try(suspects); err != nil || !b {
		return nil, err // it does not happen again: nothing to blame
	}
	var bisect func(set []*candidate) ([]*candidate, error)
	bisect = func(set []*candidate) ([]*candidate, error) {
		if len(set) == 1 {
			return set, nil
		}
		half := len(set) / 2
		var out []*candidate
		for _, part := range [][]*candidate{set[:half], set[half:]} {
			b, err := try(part)
			if err != nil {
				return nil, err
			}
			if b {
				found, err := bisect(part)
				if err != nil {
					return nil, err
				}
				out = append(out, found...)
			}
		}
		if len(out) == 0 {
			// Only together do they do it: blame the later half.
			out = set[half:]
		}
		return out, nil
	}
	return bisect(suspects)
}
