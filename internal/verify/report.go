package verify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
)

// report assembles the verdict.
func (a *acceptance) report() *Report {
	o, b := a.s.o, a.baseline
	r := &Report{
		Coverage: handofftype.Coverage{Before: b.Coverage, After: b.Coverage, Threshold: o.Threshold,
			BranchBefore: b.Branch, BranchAfter: b.Branch},
		Kept:        []string{},
		Dropped:     a.dropped,
		Commands:    a.s.commands,
		Rejected:    a.rejected,
		Containment: a.s.containmentUsed(),
		Gaps:        a.s.gaps,
		Files:       map[string][]byte{},
		Runs:        a.s.runs,
	}
	if r.Dropped == nil {
		r.Dropped = []agent.Dropped{}
	}
	after := b.Functions
	if kept := a.alive(); len(kept) > 0 && a.settled != nil && a.settled.Coverage != nil {
		r.Kept = names(kept)
		mc := a.settled.Coverage
		r.Coverage.After, r.Coverage.BranchAfter, after = mc.Percent, mc.Branch, mc.Functions
		for _, f := range a.files {
			if !f.gone {
				r.Files[f.rel] = f.src
			}
		}
	}
	r.Functions = functionDeltas(b.Functions, after)
	r.Funnel = handofftype.Funnel{Generated: a.generated}
	r.Funnel.Built = r.Funnel.Generated - a.drops[stageBuilt]
	r.Funnel.Passed = r.Funnel.Built - a.drops[stagePassed]
	r.Funnel.Stable = r.Funnel.Passed - a.drops[stageStable]
	r.Funnel.Improved = r.Funnel.Stable - a.drops[stageImproved]
	r.Funnel.Kept = len(r.Kept)
	r.Success = r.Coverage.After >= o.Threshold && (len(r.Kept) > 0 || AlreadyMet(b, o.Threshold))
	r.Feedback = feedback(o, r, after)
	return r
}

// AlreadyMet reports whether the existing tests, all passing, already cover
// the module to a threshold above zero: a task then succeeds with nothing to
// add. A zero threshold sets no target, so only a kept test succeeds.
func AlreadyMet(b *Baseline, threshold float64) bool {
	return b != nil && threshold > 0 && b.Passed && b.Coverage >= threshold
}

// functionDeltas pairs per-function figures by name, in the order of after.
func functionDeltas(before, after []agent.FunctionCoverage) []handofftype.FunctionDelta {
	was := map[string]float64{}
	for _, f := range before {
		was[f.Name] = f.Percent
	}
	out := make([]handofftype.FunctionDelta, 0, len(after))
	for _, f := range after {
		out = append(out, handofftype.FunctionDelta{Name: f.Name, Before: was[f.Name], After: f.Percent})
	}
	return out
}

// feedback is the report as a repair round takes it: what was dropped and
// why, and which functions are still not fully covered.
func feedback(o Options, r *Report, after []agent.FunctionCoverage) *agent.Feedback {
	fb := &agent.Feedback{
		CoverageBefore: r.Coverage.Before,
		CoverageAfter:  r.Coverage.After,
		Threshold:      o.Threshold,
		Kept:           r.Kept,
		Dropped:        r.Dropped,
		Uncovered:      []agent.FunctionCoverage{},
	}
	for _, f := range after {
		if f.Percent < 100 {
			fb.Uncovered = append(fb.Uncovered, f)
		}
	}
	sort.SliceStable(fb.Uncovered, func(i, j int) bool { return fb.Uncovered[i].Percent < fb.Uncovered[j].Percent })
	var t strings.Builder
	fmt.Fprintf(&t, "Verification of the tests for %s: coverage %s before, %s with the kept tests, threshold %s.\n",
		o.Module, fmtPercent(r.Coverage.Before), fmtPercent(r.Coverage.After), fmtPercent(o.Threshold))
	if len(r.Kept) > 0 {
		fmt.Fprintf(&t, "Kept (%d): %s. They stay in %s; keep them.\n", len(r.Kept), strings.Join(r.Kept, ", "), o.Output)
	} else {
		t.WriteString("No test was kept.\n")
	}
	if len(r.Dropped) > 0 {
		fmt.Fprintf(&t, "Dropped (%d):\n", len(r.Dropped))
		for _, d := range r.Dropped {
			fmt.Fprintf(&t, "- %s: %s — %s\n", d.Name, d.Reason, reasonHint(d.Reason))
			if d.Excerpt != "" {
				t.WriteString(indent(lastLines(d.Excerpt, 8)) + "\n")
			}
		}
	}
	if len(fb.Uncovered) > 0 {
		t.WriteString("Functions not fully covered:")
		for i, f := range fb.Uncovered {
			if i == 15 {
				fmt.Fprintf(&t, " and %d more", len(fb.Uncovered)-15)
				break
			}
			fmt.Fprintf(&t, " %s %s;", f.Name, fmtPercent(f.Percent))
		}
		t.WriteString("\n")
	}
	if r.Coverage.After < o.Threshold {
		fmt.Fprintf(&t, "Add tests to %s for the functions above; change no other file.\n", o.Output)
	}
	fb.Text = t.String()
	return fb
}

// reasonHint says in a few words what a reason code asks of the agent.
func reasonHint(reason string) string {
	switch reason {
	case ReasonDisallowedChange:
		return "only test files in the output area may change"
	case ReasonLeavesFiles:
		return "the test left files behind in the workspace; write only to t.TempDir() (Go) or tmp_path (pytest)"
	case ReasonResourceLimit:
		return "the test reached a resource limit of its run (the first line says which); keep files, processes and memory small"
	case ReasonParseError:
		return "the file does not parse"
	case ReasonNoAssertion:
		return "the test asserts nothing"
	case ReasonBuildFailed:
		return "the test does not compile or import"
	case ReasonFailed:
		return "the test fails against the current code"
	case ReasonTimeout:
		return "the test did not finish in time"
	case ReasonBreaksSuite:
		return "existing tests fail when this test runs"
	case ReasonFlaky:
		return "the test does not pass on every run"
	case ReasonNoCoverageGain:
		return "the test covers nothing new"
	}
	return reason
}
