package workspace

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
)

// ChangeKind says how a path changed in a materialised directory.
type ChangeKind string

// Change kinds reported by Diff.
const (
	Added    ChangeKind = "added"    // a regular file that was not in the snapshot
	Modified ChangeKind = "modified" // a regular file whose content or executable bit changed
	Deleted  ChangeKind = "deleted"  // a file or symlink of the snapshot that is gone
	// Symlink is a symlink that was created, retargeted, or put in place of
	// a file. It is its own kind so callers can refuse it: a link written by
	// an agent could point anywhere.
	Symlink ChangeKind = "symlink"
	// Special is a socket, pipe or device that appeared where the snapshot
	// had nothing or a file.
	Special ChangeKind = "special"
)

// Change is one changed path, slash-separated and relative to the directory.
type Change struct {
	Path string     `json:"path"`
	Kind ChangeKind `json:"kind"`
}

// Diff lists what changed in dst since Materialize wrote it, sorted by path:
// regular files added, modified or deleted, and symlinks or special files
// that appeared. Directories are not reported, only the files in them.
func Diff(dst string) ([]Change, error) {
	dst, err := filepath.Abs(dst)
	if err != nil {
		return nil, err
	}
	m, err := readManifest(dst)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(m.Files))
	var changes []Change
	err = filepath.WalkDir(dst, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dst, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		before, had := m.Files[rel]
		seen[rel] = had
		if kind, changed, err := compare(path, d, before, had); err != nil {
			return err
		} else if changed {
			changes = append(changes, Change{Path: rel, Kind: kind})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", dst, err)
	}
	for rel := range m.Files {
		if !seen[rel] {
			changes = append(changes, Change{Path: rel, Kind: Deleted})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	return changes, nil
}

// compare decides how the non-directory entry at path differs from its
// manifest entry.
func compare(path string, d fs.DirEntry, before manifestEntry, had bool) (ChangeKind, bool, error) {
	fi, err := d.Info()
	if err != nil {
		return "", false, err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		if had && before.Type == entrySymlink {
			now, _, err := describe(path, fi)
			if err != nil || now.SHA256 == before.SHA256 {
				return "", false, err
			}
		}
		return Symlink, true, nil
	case !fi.Mode().IsRegular():
		return Special, true, nil
	case !had:
		return Added, true, nil
	case before.Type != entryFile:
		return Modified, true, nil
	case fi.Size() != before.Size || isExec(fi.Mode()) != isExec(before.Mode):
		return Modified, true, nil
	}
	now, _, err := describe(path, fi)
	if err != nil {
		return "", false, err
	}
	return Modified, now.SHA256 != before.SHA256, nil
}

func isExec(m fs.FileMode) bool { return m&0o111 != 0 }
