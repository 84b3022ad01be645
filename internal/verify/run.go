package verify

import (
	"context"
	"fmt"
)

// runResult is one suite run and what it did to the task directory.
type runResult struct {
	*suiteResult
	// Dirtied lists what the run left behind in the task directory, each
	// path with how ("calc/marker (created)"), already undone. Byproducts
	// of the test tools (bytecode, pytest caches) and what the existing
	// tests leave by themselves are not in it.
	Dirtied []string
	// LimitHit names the limits the run's sandbox saw reached (processes,
	// memory).
	LimitHit []string
}

// run runs the suite once with sel, then undoes whatever the run wrote in
// the task directory: added files are removed, modified or deleted ones
// restored.
func (a *acceptance) run(ctx context.Context, sel selection) (*runResult, error) {
	var res *suiteResult
	a.s.takeLimitHits()
	dirtied, err := a.guard(func() (err error) {
		res, err = a.s.tc.suite(ctx, a.s, sel)
		return err
	})
	if err != nil {
		return nil, err
	}
	a.forgiveBaselineBreakage(res)
	rr := &runResult{suiteResult: res, Dirtied: dirtied, LimitHit: a.s.takeLimitHits()}
	for name, u := range res.PerTest {
		if o, ok := res.Tests[name]; ok && o.Status == statusPass {
			a.units[name] = u
		}
	}
	return rr, nil
}

// guard runs tests through f and then undoes whatever they wrote in the
// task directory: added files are removed, modified or deleted ones
// restored. It returns what they left behind (leftovers), but for test
// tool caches and what the existing tests leave by themselves.
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
	for _, p := range outermost(ch.Added) {
		if !isCache(p) && !touched[p] {
			dirtied = append(dirtied, p+" (created)")
		}
	}
	for i, p := range append(ch.Modified, ch.Deleted...) {
		if f := a.byPath[p]; f != nil && !f.gone {
			if err := a.write(f, f.src); err != nil {
				return nil, err
			}
		} else if err := a.undo(p); err != nil {
			return nil, err
		}
		how := " (changed)"
		if i >= len(ch.Modified) {
			how = " (deleted)"
		}
		if !touched[p] {
			dirtied = append(dirtied, p+how)
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
