package verify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Recheck runs kept tests against the workspace as it is now. o.Dir is a
// fresh copy of the workspace made by the caller; files are the test files
// to apply (Report.Files). Recheck writes them into o.Dir, judges the tests
// they add to what o.Dir already has (build, pass, existing tests
// unharmed), and returns the files reduced to the tests that still pass,
// with the names of the tests re-dropped. A file left with no test is not
// in kept.
func Recheck(ctx context.Context, o Options, files map[string][]byte) (kept map[string][]byte, redropped []string, err error) {
	o, err = o.normalize()
	if err != nil {
		return nil, nil, err
	}
	s, err := newSession(o)
	if err != nil {
		return nil, nil, err
	}
	defer s.close()
	if err := s.tc.prepare(ctx, s); err != nil {
		return nil, nil, err
	}
	originals := map[string][]byte{}
	restore := func(rel string) error {
		orig, ok := originals[rel]
		switch {
		case !ok:
			return nil // a throwaway copy: nothing else to put back
		case orig == nil:
			return os.Remove(s.abs(rel))
		default:
			return os.WriteFile(s.abs(rel), orig, 0o644)
		}
	}
	a := newAcceptance(s, &Baseline{}, restore)
	rels := make([]string, 0, len(files))
	for rel := range files {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		if _, err := cleanModule(rel); err != nil || !IsTestFile(o.Language, rel) {
			return nil, nil, fmt.Errorf("recheck: %q is not a %s test file path inside the workspace", rel, o.Language)
		}
		var existing []string
		if cur, err := os.ReadFile(s.abs(rel)); err == nil {
			originals[rel] = cur
			tests, _ := s.tc.parse(ctx, s, rel, cur)
			for _, t := range tests {
				existing = append(existing, t.Name)
			}
		} else {
			originals[rel] = nil
		}
		if err := os.MkdirAll(filepath.Dir(s.abs(rel)), 0o755); err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(s.abs(rel), files[rel], 0o644); err != nil {
			return nil, nil, err
		}
		if err := a.addFile(ctx, rel, existing); err != nil {
			return nil, nil, err
		}
	}
	if len(a.alive()) > 0 {
		s.scope = s.tc.scope(o, a.paths())
		if err := a.buildAndPass(ctx); err != nil {
			return nil, nil, err
		}
	}
	for _, d := range a.dropped {
		redropped = append(redropped, d.Name)
	}
	kept = map[string][]byte{}
	if len(a.alive()) > 0 {
		for _, f := range a.files {
			if !f.gone {
				kept[f.rel] = f.src
			}
		}
	}
	s.logf("# recheck: %d tests still pass, %d re-dropped", len(a.alive()), len(redropped))
	return kept, redropped, nil
}
