package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Materialize writes the snapshot's files into dst, a plain directory (not a
// git repository) that must be absent or empty, and records a manifest of
// every file (path, size, mode, SHA-256) at dst/../manifest.json — outside
// dst, where nothing working inside dst can change it — for Diff. Submodule
// contents are not part of a snapshot, so their directories are left empty.
func (s Snapshot) Materialize(ctx context.Context, dst string) error {
	dst, err := filepath.Abs(dst)
	if err != nil {
		return fmt.Errorf("materialise into %q: %w", dst, err)
	}
	if err := emptyDir(dst); err != nil {
		return err
	}
	m := newManifest()
	switch s.Kind {
	case KindGit:
		err = s.checkoutGit(ctx, dst, m)
	case KindCopy:
		var src string
		if src, err = s.copyDir(); err == nil {
			err = copyTree(ctx, src, dst, nil, m)
		}
	default:
		err = s.badKind()
	}
	if err != nil {
		return fmt.Errorf("materialise snapshot %s into %s: %w", s.ID, dst, err)
	}
	if err := m.write(dst); err != nil {
		return fmt.Errorf("materialise snapshot %s: record the manifest: %w", s.ID, err)
	}
	return nil
}

// checkoutGit writes the snapshot tree into dst through a temporary index, so
// git applies the workspace's own checkout rules (line endings, filters,
// symlinks, executable bits), then hashes what it wrote.
func (s Snapshot) checkoutGit(ctx context.Context, dst string, m *manifest) error {
	tmp, err := os.MkdirTemp("", "handoff-index-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}
	if _, err := (gitCmd{dir: s.Workspace, env: env, args: []string{"read-tree", s.Ref}}).run(ctx); err != nil {
		return err
	}
	prefix := dst + string(filepath.Separator)
	if _, err := (gitCmd{dir: s.Workspace, env: env, args: []string{"checkout-index", "--all", "--force", "--prefix=" + prefix}}).run(ctx); err != nil {
		return err
	}
	return hashTree(ctx, dst, m)
}

// emptyDir creates dir, or accepts it when it exists and is empty.
func emptyDir(dir string) error {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("materialise: create %s: %w", dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("materialise into %s: %w", dir, err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("materialise into %s (is it a directory?): %w", dir, err)
	}
	if len(names) > 0 {
		return fmt.Errorf("materialise into %s: the directory is not empty; give a new or empty directory", dir)
	}
	return nil
}
