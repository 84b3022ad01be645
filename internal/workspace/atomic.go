package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// writeFileAtomic replaces path with data: a temporary file in the same
// directory, synced, then renamed over path, so a reader sees the old file or
// the new one, never a torn one. A symlink at path is replaced, not followed.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	return writeFileVia(path, data, perm, os.Rename)
}

// errAppeared: a file meant to be new exists by the time it is placed.
var errAppeared = errors.New("the file appeared while it was being written")

// createFileAtomic writes data to path only if no file has that name: the
// complete temporary file is hard-linked into place, which fails when the
// name exists, so a file created meanwhile is never replaced (errAppeared).
func createFileAtomic(path string, data []byte, perm fs.FileMode) error {
	return writeFileVia(path, data, perm, func(tmp, path string) error {
		if err := os.Link(tmp, path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return errAppeared
			}
			return err
		}
		return nil
	})
}

// writeFileVia writes data to a synced temporary file beside path and puts
// it in place with place; the temporary name never outlives the call.
func writeFileVia(path string, data []byte, perm fs.FileMode, place func(tmp, path string) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".handoff-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a rename, nothing is left to remove
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := place(tmp, path); err != nil {
		if errors.Is(err, errAppeared) || errors.Is(err, errChangedMeanwhile) {
			return err
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
