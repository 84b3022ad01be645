package workspace

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
)

// takeCopy copies the workspace to <root>/.handoff/snapshots/<id>, leaving out
// .handoff at the root and every .git. The copy is built under a temporary
// name and renamed into place, so a crash never leaves a half snapshot under
// the final name.
func takeCopy(ctx context.Context, root, id string) (string, error) {
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
	skip := func(rel string) bool {
		return rel == StateDirName || path.Base(rel) == ".git"
	}
	if err := copyTree(ctx, root, tmp, skip, nil); err != nil {
		return "", fmt.Errorf("snapshot %s: copy the workspace: %w", root, err)
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
