package verify

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// fingerprint records the files of the task directory (size, time, mode) so
// that writes made by a test run can be found and undone. .git is skipped.
type fingerprint map[string]fileStamp

type fileStamp struct {
	Size  int64
	MTime time.Time
	Mode  fs.FileMode
	Link  string
}

func takeFingerprint(dir string) (fingerprint, error) {
	fp := fingerprint{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if p == dir {
			return nil
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		st := fileStamp{Mode: fi.Mode()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			st.Link, _ = os.Readlink(p)
		case fi.Mode().IsRegular():
			st.Size, st.MTime = fi.Size(), fi.ModTime()
		}
		fp[filepath.ToSlash(rel)] = st
		return nil
	})
	return fp, err
}

func (a fileStamp) equal(b fileStamp) bool {
	return a.Size == b.Size && a.MTime.Equal(b.MTime) && a.Mode == b.Mode && a.Link == b.Link
}

// treeChanges is how the task directory differs from a fingerprint.
type treeChanges struct {
	Added    []string // files and directories that appeared
	Modified []string // files whose size, time or type changed
	Deleted  []string // files that disappeared
}

// changedSince compares the directory now with before.
func changedSince(dir string, before fingerprint) (treeChanges, error) {
	now, err := takeFingerprint(dir)
	if err != nil {
		return treeChanges{}, err
	}
	var c treeChanges
	for rel, st := range now {
		old, ok := before[rel]
		switch {
		case !ok:
			c.Added = append(c.Added, rel)
		case st.Mode.IsDir() && old.Mode.IsDir():
		case !st.equal(old):
			c.Modified = append(c.Modified, rel)
		}
	}
	for rel, st := range before {
		if _, ok := now[rel]; !ok && !st.Mode.IsDir() {
			c.Deleted = append(c.Deleted, rel)
		}
	}
	sort.Strings(c.Added)
	sort.Strings(c.Modified)
	sort.Strings(c.Deleted)
	return c, nil
}

// removeAdded deletes what a run added, outermost first.
func removeAdded(dir string, added []string) {
	done := map[string]bool{}
	for _, rel := range added { // sorted: a directory precedes its files
		if parentIn(rel, done) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(dir, filepath.FromSlash(rel)))
		done[rel] = true
	}
}

// outermost lists the paths of a sorted list not below another of them.
func outermost(paths []string) []string {
	var out []string
	in := map[string]bool{}
	for _, p := range paths {
		if !parentIn(p, in) {
			out = append(out, p)
			in[p] = true
		}
	}
	return out
}

func parentIn(rel string, set map[string]bool) bool {
	for d := filepath.ToSlash(filepath.Dir(rel)); d != "." && d != "/"; d = filepath.ToSlash(filepath.Dir(d)) {
		if set[d] {
			return true
		}
	}
	return false
}
