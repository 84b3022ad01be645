package workspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ApplyResult says what Apply did with each file.
type ApplyResult struct {
	Written []string      `json:"written"` // slash-separated paths relative to the workspace, sorted
	Skipped []SkippedFile `json:"skipped"` // files left alone, sorted by path
}

// SkippedFile is a file Apply did not write, and why.
type SkippedFile struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Apply writes files (path relative to the workspace → content) into the
// live workspace. A file whose workspace copy changed since the snapshot, or
// exists now though the snapshot had none, or was deleted since, is not
// written: it is listed in Skipped with the reason. Every path is checked
// with Resolve before anything is written; one that leaves the workspace or
// points into .git or .handoff fails the whole call with
// ErrOutsideWorkspace. Each write is atomic (a temporary file in the same
// directory renamed over the target); missing parent directories are
// created; an existing file keeps its permission bits, a new one gets 0644.
//
// A new file is linked into place, which fails when the name exists: a file
// the user creates meanwhile is never replaced (it is skipped as created).
// An existing file is stat'ed again just before the rename and skipped if
// it changed since the check, so a user edit is lost only if it lands in
// the microseconds between that stat and the rename. If a write fails, the
// result lists what was written before it and the error says which file
// failed.
func (s Snapshot) Apply(ctx context.Context, files map[string][]byte) (ApplyResult, error) {
	res := ApplyResult{Written: []string{}, Skipped: []SkippedFile{}}
	rels := make([]string, 0, len(files))
	content := make(map[string][]byte, len(files))
	for p, data := range files {
		rel, err := applyPath(s.Workspace, p)
		if err != nil {
			return res, err
		}
		if _, dup := content[rel]; dup {
			return res, fmt.Errorf("apply: %q and another path both name %s; give each file once", p, rel)
		}
		content[rel] = data
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	if len(rels) == 0 {
		return res, nil
	}
	reasons, seen, err := s.drift(ctx, rels)
	if err != nil {
		return res, fmt.Errorf("apply: %w", err)
	}
	for _, rel := range rels {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if reason := reasons[rel]; reason != "" {
			res.Skipped = append(res.Skipped, SkippedFile{Path: rel, Reason: reason})
			continue
		}
		err := writeWorkspaceFile(s.Workspace, rel, content[rel], seen[rel])
		switch {
		case errors.Is(err, errAppeared):
			res.Skipped = append(res.Skipped, SkippedFile{Path: rel, Reason: reasonCreated})
			continue
		case errors.Is(err, errChangedMeanwhile):
			res.Skipped = append(res.Skipped, SkippedFile{Path: rel, Reason: reasonChanged})
			continue
		case err != nil:
			return res, fmt.Errorf("apply: %w", err)
		}
		res.Written = append(res.Written, rel)
	}
	return res, nil
}

// applyPath resolves p for writing: inside the workspace and not in git's
// metadata or handoff's state, where a written file could run code or break
// handoff.
func applyPath(root, p string) (string, error) {
	rel, err := Resolve(root, p)
	if err != nil {
		return "", fmt.Errorf("apply: %w", err)
	}
	if rel == "." {
		return "", fmt.Errorf("apply: %w: %q names the workspace root itself, not a file", ErrOutsideWorkspace, p)
	}
	parts := strings.Split(rel, "/")
	reserved := strings.EqualFold(parts[0], StateDirName)
	for _, part := range parts {
		reserved = reserved || strings.EqualFold(part, ".git")
	}
	if reserved {
		return "", fmt.Errorf("apply: %w: %q is inside .git or %s, which hold git's and handoff's own data; write tests elsewhere in the workspace", ErrOutsideWorkspace, p, StateDirName)
	}
	return rel, nil
}

// errChangedMeanwhile: an existing file changed between the check and the
// write.
var errChangedMeanwhile = errors.New("the file changed while it was being written")

// writeWorkspaceFile writes one resolved file. checked is what the drift
// check saw at that path: nil for no file, and then the file is created
// without ever replacing one; else the file is replaced only if it is still
// the one checked (same inode, size and modification time), keeping its
// permission bits.
func writeWorkspaceFile(root, rel string, data []byte, checked fs.FileInfo) error {
	path := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create the directory for %s: %w", rel, err)
	}
	if checked == nil {
		return createFileAtomic(path, data, 0o644)
	}
	perm := fs.FileMode(0o644)
	if checked.Mode().IsRegular() {
		perm = checked.Mode().Perm()
	}
	return writeFileVia(path, data, perm, func(tmp, path string) error {
		now, err := os.Lstat(path)
		if err != nil || !os.SameFile(now, checked) || now.Size() != checked.Size() || !now.ModTime().Equal(checked.ModTime()) {
			return errChangedMeanwhile
		}
		return os.Rename(tmp, path)
	})
}
