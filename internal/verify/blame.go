package verify

import (
	"context"
	"sort"
	"strings"
)

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
