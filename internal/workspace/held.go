package workspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Held returns the snapshots the workspace at root still holds, by ID, each
// with what holds it: refs/handoff/<ID>, or the copy directory. A workspace
// that is gone holds none.
func Held(ctx context.Context, root string) (map[string]string, error) {
	held := map[string]string{}
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return held, nil
	}
	if _, ok := gitDir(root); ok {
		out, err := gitCmd{dir: root, args: []string{"for-each-ref", "--format=%(refname)", "refs/handoff/"}}.run(ctx)
		if err != nil {
			return nil, err
		}
		for _, ref := range strings.Fields(string(out)) {
			held[strings.TrimPrefix(ref, "refs/handoff/")] = ref
		}
	}
	entries, err := os.ReadDir(snapshotsDir(root))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("listing snapshot copies: %w", err)
	}
	for _, e := range entries {
		held[e.Name()] = filepath.Join(snapshotsDir(root), e.Name())
	}
	return held, nil
}

// TaskDir is the directory of a task's attempts and logs:
// <root>/.handoff/tasks/<id>.
func TaskDir(root, id string) (string, error) {
	if !validID(id) {
		return "", fmt.Errorf("task id %q cannot name a directory; the task record is damaged", id)
	}
	return filepath.Join(root, StateDirName, "tasks", id), nil
}
