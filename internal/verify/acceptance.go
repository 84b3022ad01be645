package verify

import (
	"context"
	"fmt"
	"os"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// Funnel stages a drop happens before.
const (
	stageBuilt = iota
	stagePassed
	stageStable
	stageImproved
	stageUncounted // a rejected non-test change: not a generated test
)

// acceptance is the state of one verification: the generated test files,
// their tests and the verdicts so far.
type acceptance struct {
	s        *session
	baseline *Baseline
	restore  func(rel string) error

	files  []*testFile
	byPath map[string]*testFile
	cands  []*candidate // in file order

	dropped   []agent.Dropped
	rejected  []string
	generated int
	drops     [stageUncounted + 1]int
	baseOK    map[string]bool // existing tests that passed at baseline
	baseUnits unitSet

	// units holds, per test, what it covered in the latest run it passed
	// in, where the toolchain measures that in suite runs.
	units   map[string]unitSet
	settled *suiteResult // a run with exactly the current files, every candidate passing
}

// testFile is a test file the agent added or changed in the output area.
type testFile struct {
	rel      string
	src      []byte // current content, as in the task directory
	existing map[string]bool
	cands    []*candidate
	gone     bool // restored: nothing of it is kept
}

// candidate is one generated test.
type candidate struct {
	testFunc
	file    *testFile
	dropped bool
	removed bool // taken out of its file
}

func newAcceptance(s *session, b *Baseline, restore func(string) error) *acceptance {
	a := &acceptance{s: s, baseline: b, restore: restore, byPath: map[string]*testFile{}, units: map[string]unitSet{}, baseOK: map[string]bool{}, baseUnits: newUnitSet(b.Covered...)}
	for _, t := range b.PassedTests {
		a.baseOK[t] = true
	}
	return a
}

// classify parses the allowed test files and drops the tests that fail the
// static checks.
func (a *acceptance) classify(ctx context.Context, allowed []workspace.Change) error {
	for _, ch := range allowed {
		var existing []string
		if ch.Kind == workspace.Modified && ch.Path == a.s.o.Output {
			existing = a.baseline.OutputTests
		}
		if err := a.addFile(ctx, ch.Path, existing); err != nil {
			return err
		}
	}
	for _, c := range a.cands {
		if !c.Assert {
			a.drop(c, ReasonNoAssertion, "the test has no assertion or failure call, so it cannot fail", stageBuilt)
		}
	}
	return a.removeDropped(ctx)
}

// addFile parses an allowed test file and registers its generated tests:
// those not named in existing.
func (a *acceptance) addFile(ctx context.Context, rel string, existing []string) error {
	src, err := os.ReadFile(a.s.abs(rel))
	if err != nil {
		return fmt.Errorf("read generated test file %s: %w", rel, err)
	}
	f := &testFile{rel: rel, src: src, existing: map[string]bool{}}
	for _, t := range existing {
		f.existing[t] = true
	}
	tests, err := a.s.tc.parse(ctx, a.s, rel, src)
	if pe, ok := asParseError(err); ok {
		a.generated++
		a.dropEntry(rel, ReasonParseError, pe.Msg, stageBuilt)
		if err := a.undo(rel); err != nil {
			return err
		}
		return nil
	}
	if err != nil {
		return err
	}
	a.files = append(a.files, f)
	a.byPath[rel] = f
	seen := map[string]bool{}
	for _, t := range tests {
		if f.existing[t.Name] || seen[t.Name] {
			continue
		}
		seen[t.Name] = true
		c := &candidate{testFunc: t, file: f}
		f.cands = append(f.cands, c)
		a.cands = append(a.cands, c)
		a.s.testFile[t.Name] = rel
		a.generated++
	}
	return nil
}

// undo puts a path back as in the snapshot.
func (a *acceptance) undo(rel string) error {
	if a.restore == nil {
		return fmt.Errorf("verify: cannot undo %s: no Restore function", rel)
	}
	a.s.generation++
	if err := a.restore(rel); err != nil {
		return fmt.Errorf("undo the change to %s: %w", rel, err)
	}
	return nil
}

// drop records the verdict on a candidate; removeDropped takes it out of its
// file.
func (a *acceptance) drop(c *candidate, reason, text string, st int) {
	if c.dropped {
		return
	}
	c.dropped = true
	a.s.logf("# dropped %s: %s", c.Name, reason)
	a.dropEntry(c.Name, reason, text, st)
}

func (a *acceptance) dropEntry(name, reason, text string, st int) {
	a.dropped = append(a.dropped, agent.Dropped{Name: name, Reason: reason, Excerpt: excerpt(text)})
	a.drops[st]++
}

// dropFile drops every live candidate of f (or f itself when it has none)
// and restores the file.
func (a *acceptance) dropFile(ctx context.Context, f *testFile, reason, text string, st int) error {
	live := 0
	for _, c := range f.cands {
		if !c.dropped {
			a.drop(c, reason, text, st)
			live++
		}
		c.removed = true
	}
	if live == 0 && len(f.cands) == 0 {
		a.generated++
		a.dropEntry(f.rel, reason, text, st)
	}
	return a.restoreFile(f)
}

func (a *acceptance) restoreFile(f *testFile) error {
	if f.gone {
		return nil
	}
	f.gone = true
	a.settled = nil
	return a.undo(f.rel)
}

// removeDropped takes newly dropped candidates out of their files, and
// restores files left without any generated test.
func (a *acceptance) removeDropped(ctx context.Context) error {
	for _, f := range a.files {
		if f.gone {
			continue
		}
		var names []string
		live := 0
		for _, c := range f.cands {
			switch {
			case c.dropped && !c.removed:
				names = append(names, c.Name)
				c.removed = true
			case !c.dropped:
				live++
			}
		}
		if len(names) == 0 {
			continue
		}
		if live == 0 {
			if err := a.restoreFile(f); err != nil {
				return err
			}
			continue
		}
		src, err := a.s.tc.remove(ctx, a.s, f.rel, f.src, names)
		if err != nil {
			return err
		}
		if err := a.rewrite(ctx, f, src); err != nil {
			return err
		}
	}
	return nil
}

// rewrite writes new content for f and updates where its tests are.
func (a *acceptance) rewrite(ctx context.Context, f *testFile, src []byte) error {
	if err := a.write(f, src); err != nil {
		return err
	}
	tests, err := a.s.tc.parse(ctx, a.s, f.rel, src)
	if err != nil {
		return fmt.Errorf("verify: %s no longer parses after dropping tests: %w", f.rel, err)
	}
	at := map[string]testFunc{}
	for _, t := range tests {
		at[t.Name] = t
	}
	for _, c := range f.cands {
		if t, ok := at[c.Name]; ok && !c.removed {
			c.Start, c.End = t.Start, t.End
		} else {
			c.Start, c.End = 0, -1
		}
	}
	return nil
}

func (a *acceptance) write(f *testFile, src []byte) error {
	f.src = src
	a.settled = nil
	a.s.generation++
	if err := os.WriteFile(a.s.abs(f.rel), src, 0o644); err != nil {
		return fmt.Errorf("rewrite %s: %w", f.rel, err)
	}
	return nil
}

// restoreUnused restores support files (no generated test of their own)
// when no test is kept.
func (a *acceptance) restoreUnused(context.Context) error {
	if len(a.alive()) > 0 {
		return nil
	}
	for _, f := range a.files {
		if err := a.restoreFile(f); err != nil {
			return err
		}
	}
	return nil
}

// alive lists the candidates not dropped, in file order.
func (a *acceptance) alive() []*candidate {
	var out []*candidate
	for _, c := range a.cands {
		if !c.dropped {
			out = append(out, c)
		}
	}
	return out
}

// paths lists the generated test files still in place.
func (a *acceptance) paths() []string {
	var out []string
	for _, f := range a.files {
		if !f.gone {
			out = append(out, f.rel)
		}
	}
	return out
}

func names(cs []*candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}
