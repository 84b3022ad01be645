package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// StateDirName is the directory at the workspace root that holds handoff's
// own state: database, snapshot copies, task directories, logs. It is never
// part of a snapshot.
const StateDirName = ".handoff"

// EnsureStateDir creates <root>/.handoff, with a .gitignore of "*" so the
// user's git status stays clean, and returns its path. It is safe to call
// again and from several processes at once.
func EnsureStateDir(root string) (string, error) {
	dir := filepath.Join(root, StateDirName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create handoff's state directory %s (is the workspace writable?): %w", dir, err)
	}
	ignore := filepath.Join(dir, ".gitignore")
	f, err := os.OpenFile(ignore, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return dir, nil
	}
	if err != nil {
		return "", fmt.Errorf("create %s: %w", ignore, err)
	}
	_, werr := f.WriteString("# handoff's own state; never commit it\n*\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", fmt.Errorf("write %s: %w", ignore, werr)
	}
	return dir, nil
}

// TaskLog is the path of a task's agent log, kept across its attempts.
func TaskLog(root, id string) (string, error) {
	dir, err := TaskDir(root, id)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "agent.log"), nil
}
