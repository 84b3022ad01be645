package verify

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

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
