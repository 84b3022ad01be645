package verify

import (
	"context"
	"fmt"
)

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
