package snapstore

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"
)

// Materialize writes the stored tree id into dir, which must be empty or
// absent. Every write goes through an os.Root at dir, so no entry (a path
// with "..", an absolute path, a path through a symbolic link) can reach
// outside it; such an entry is ErrCorrupt. It returns the tree written.
func (s *Store) Materialize(ctx context.Context, id, dir string) (Tree, error) {
	t, err := s.Tree(ctx, id)
	if err != nil {
		return Tree{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Tree{}, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Tree{}, err
	}
	defer root.Close()
	byID := map[string][]Entry{}
	for _, e := range t.Entries {
		if !localPath(e.Path) {
			return Tree{}, fmt.Errorf("%w: tree %s names %q, outside the workspace", ErrCorrupt, id, e.Path)
		}
		byID[e.ID] = append(byID[e.ID], e)
	}
	err = s.Blobs(ctx, mapKeys(byID), func(bid string, content []byte) error {
		for _, e := range byID[bid] {
			if dir := path.Dir(e.Path); dir != "." {
				if err := root.MkdirAll(dir, 0o755); err != nil {
					return fmt.Errorf("materialising %s: %w", e.Path, err)
				}
			}
			var err error
			switch e.Mode {
			case ModeSymlink:
				err = root.Symlink(string(content), e.Path)
			case ModeExecutable:
				err = root.WriteFile(e.Path, content, 0o755)
			default:
				err = root.WriteFile(e.Path, content, 0o644)
			}
			if err != nil {
				return fmt.Errorf("materialising %s: %w", e.Path, err)
			}
		}
		return nil
	})
	if err != nil {
		return Tree{}, err
	}
	return t, nil
}

// localPath reports whether p is a clean, relative, slash-separated path
// that stays below its root.
func localPath(p string) bool {
	return p != "" && !strings.HasPrefix(p, "/") && path.Clean(p) == p && p != ".." && !strings.HasPrefix(p, "../") &&
		!strings.Contains(p, "\\")
}
