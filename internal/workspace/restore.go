package workspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// Restore puts dst/rel back as it was in the snapshot: the snapshot's file or
// symlink, or nothing when the snapshot had none there. dst is a directory
// Materialize wrote; rel is relative to it. Whatever is at dst/rel now (a
// file, a symlink, a directory) is replaced, never followed; the directories
// leading to it must stay inside dst.
func (s Snapshot) Restore(ctx context.Context, dst, rel string) error {
	rel, err := cleanRel(rel)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if dst, err = filepath.Abs(dst); err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	if dir := path.Dir(rel); dir != "." {
		if _, err := Resolve(dst, dir); err != nil {
			return fmt.Errorf("restore %s: %w", rel, err)
		}
	}
	found, err := s.lookup(ctx, []string{rel})
	if err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	target := filepath.Join(dst, filepath.FromSlash(rel))
	e, had := found[rel]
	if had && e.kind != entryFile && e.kind != entrySymlink {
		return fmt.Errorf("restore %s: the snapshot has a %s there; restore the files in it one by one", rel, e.kind)
	}
	if !had {
		if err := os.RemoveAll(target); err != nil {
			return fmt.Errorf("restore %s: remove it: %w", rel, err)
		}
		return nil
	}
	data, err := s.content(ctx, rel, e)
	if err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	if fi, err := os.Lstat(target); err == nil && (fi.IsDir() || e.kind == entrySymlink) {
		if err := os.RemoveAll(target); err != nil {
			return fmt.Errorf("restore %s: remove what is there: %w", rel, err)
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	if e.kind == entrySymlink {
		if err := os.Symlink(string(data), target); err != nil {
			return fmt.Errorf("restore %s: %w", rel, err)
		}
		return nil
	}
	perm := fs.FileMode(0o644)
	if e.exec {
		perm = 0o755
	}
	return writeFileAtomic(target, data, perm)
}
