package verify

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/handoff-dev/handoff/internal/workspace"
)

// undoDisallowed undoes the changes that may not stay (non-test files,
// files outside the output area, deletions, caches) and returns the others.
// It runs before the toolchain looks at the module, so that it sees the
// snapshot's sources.
func (a *acceptance) undoDisallowed(changes []workspace.Change) ([]workspace.Change, error) {
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	o := a.s.o
	var allowed []workspace.Change
	for _, ch := range changes {
		why := a.disallowed(ch)
		if why == "" {
			allowed = append(allowed, ch)
			continue
		}
		if err := a.undo(ch.Path); err != nil {
			return nil, err
		}
		a.rejected = append(a.rejected, ch.Path)
		if why == whyCache {
			a.s.logf("# removed cache file %s", ch.Path)
			removeEmptyCacheDirs(o.Dir, ch.Path)
			continue
		}
		st := stageUncounted
		if IsTestFile(o.Language, ch.Path) {
			st = stageBuilt
			a.generated++
		}
		a.s.logf("# rejected change %s (%s): %s", ch.Path, ch.Kind, why)
		a.dropEntry(ch.Path, ReasonDisallowedChange, why, st)
	}
	return allowed, nil
}

const whyCache = "cache"

// disallowed says why a change may not stay, or "" when it may.
func (a *acceptance) disallowed(ch workspace.Change) string {
	o := a.s.o
	p := ch.Path
	switch {
	case isCache(p):
		return whyCache
	case ch.Kind == workspace.Deleted:
		return "deleting files is not allowed; generated tests may only add test files"
	case ch.Kind == workspace.Symlink || ch.Kind == workspace.Special:
		return "only regular test files may be written"
	case !IsTestFile(o.Language, p):
		return fmt.Sprintf("%s is not a test file; only test files in %s may change", p, outputArea(o))
	case path.Dir(p) != path.Dir(o.Output):
		return fmt.Sprintf("%s is outside the output area %s", p, outputArea(o))
	case ch.Kind == workspace.Modified && p != o.Output:
		return fmt.Sprintf("%s is an existing test file; generated tests go to %s or new files beside it", p, o.Output)
	}
	return ""
}

func outputArea(o Options) string {
	d := path.Dir(o.Output)
	if d == "." {
		return "the workspace root"
	}
	return d + "/"
}

// isCache tells whether a path is a byproduct of running tests (bytecode,
// pytest and coverage.py caches), removed without comment.
func isCache(p string) bool {
	base := path.Base(p)
	return strings.Contains("/"+p, "/__pycache__/") || strings.Contains("/"+p, "/.pytest_cache/") ||
		strings.HasSuffix(base, ".pyc") || base == ".coverage" || strings.HasPrefix(base, ".coverage.")
}

// removeEmptyCacheDirs removes the cache directories (__pycache__,
// .pytest_cache) above a removed cache file once they are empty.
func removeEmptyCacheDirs(dir, rel string) {
	for d := path.Dir(rel); d != "." && d != "/"; d = path.Dir(d) {
		if b := path.Base(d); b != "__pycache__" && b != ".pytest_cache" {
			continue
		}
		_ = os.Remove(filepath.Join(dir, filepath.FromSlash(d))) // fails, harmlessly, when not empty
	}
}
