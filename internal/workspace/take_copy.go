package workspace

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
)

// takeCopy copies the workspace to <root>/.handoff/snapshots/<id>, leaving out
// .handoff at the root and every .git.
func takeCopy(ctx context.Context, root, id string) (string, error) {
	skip := func(rel string) bool {
		return rel == StateDirName || path.Base(rel) == ".git"
	}
	return placeSnapshot(root, id, "copy the workspace", func(tmp string) error {
		return copyTree(ctx, root, tmp, skip, nil)
	})
}

// takeLinked makes snapshot id of root the same files as the snapshot copy
// in dir, hard-linked: the other tasks of a batch cost a directory walk, not
// a copy of the workspace each, and all of them start from one state.
func takeLinked(ctx context.Context, root, dir, id string) (string, error) {
	return placeSnapshot(root, id, "link the batch's snapshot", func(tmp string) error {
		return linkTree(ctx, dir, tmp)
	})
}

// placeSnapshot builds snapshot id under a temporary name with fill and
// renames it into place, so a crash never leaves a half snapshot under the
// final name.
func placeSnapshot(root, id, what string, fill func(tmp string) error) (string, error) {
	parent := snapshotsDir(root)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("snapshot %s: %w", root, err)
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-"+id+"-")
	if err != nil {
		return "", fmt.Errorf("snapshot %s: %w", root, err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := fill(tmp); err != nil {
		return "", fmt.Errorf("snapshot %s: %s: %w", root, what, err)
	}
	final := filepath.Join(parent, id)
	if err := os.RemoveAll(final); err != nil {
		return "", fmt.Errorf("snapshot %s: replace the earlier snapshot %s: %w", root, id, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("snapshot %s: %w", root, err)
	}
	ok = true
	return final, nil
}
