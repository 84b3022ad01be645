package workspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Snapshot kinds.
const (
	KindGit  = "git"  // Ref is a git tree SHA pinned by refs/handoff/<ID>
	KindCopy = "copy" // Ref is a copy of the files under <root>/.handoff/snapshots/<ID>
	// KindStored is a snapshot that exists only in the database (Tree),
	// uploaded through the HTTP API: Workspace is the submitter's path as
	// it gave it, on its own machine, never read here; there is no Ref.
	KindStored = "stored"
)

// Snapshot is the workspace as it was when Take ran. It is plain data,
// serialisable to JSON and stored with the task; every method works from it
// alone, in any process that can read the workspace.
type Snapshot struct {
	ID        string `json:"id"`        // the id given to Take; names the ref or copy
	Workspace string `json:"workspace"` // absolute workspace root
	Kind      string `json:"kind"`      // KindGit, KindCopy or KindStored
	Ref       string `json:"ref"`       // git tree SHA, or the snapshot copy directory
	// Tree is the snapshot's tree in the database (package snapstore),
	// from which a worker that does not see the workspace materialises it.
	Tree string `json:"tree,omitempty"`
}

// idPattern keeps ids usable as a ref component and a directory name.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Take captures the workspace at root (as returned by Root) as it is now,
// without touching the user's files, index, HEAD or branches. id names the
// snapshot (a task ID: letters, digits, '.', '_' or '-'); taking the same id
// again replaces the earlier snapshot.
//
// In a git work tree the snapshot holds tracked files and untracked files
// that are not ignored, with their current content; submodules are recorded
// as commits, not content. Elsewhere the tree is copied, leaving out .git.
// The .handoff directory at the root is always left out.
func Take(ctx context.Context, root, id string) (Snapshot, error) {
	snaps, err := TakeMany(ctx, root, []string{id})
	if err != nil {
		return Snapshot{}, err
	}
	return snaps[0], nil
}

// TakeMany captures the workspace once for several ids, as Take would for
// each: one state for tasks submitted together, each with a snapshot of its
// own to release. In a git work tree the tree is written once and pinned
// under every id in one ref transaction; when nothing git reads changed
// since the workspace's last snapshot, that snapshot's tree is pinned
// instead of writing it again. Elsewhere the workspace is copied once and
// every other id gets hard links to that copy's files. On error no snapshot
// is left behind.
func TakeMany(ctx context.Context, root string, ids []string) ([]Snapshot, error) {
	snaps, _, err := takeMany(ctx, root, ids)
	return snaps, err
}

// takeMany is TakeMany, also reporting whether a git snapshot reused the
// last snapshot's tree.
func takeMany(ctx context.Context, root string, ids []string) (snaps []Snapshot, reused bool, err error) {
	if len(ids) == 0 {
		return nil, false, nil
	}
	for _, id := range ids {
		if !validID(id) {
			return nil, false, fmt.Errorf("snapshot id %q is not usable: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", id)
		}
	}
	if !filepath.IsAbs(root) {
		return nil, false, fmt.Errorf("workspace root %q is not absolute; get it from workspace.Root", root)
	}
	if _, err := EnsureStateDir(root); err != nil {
		return nil, false, err
	}
	snaps = make([]Snapshot, 0, len(ids))
	if gd, ok := gitDir(root); ok {
		tree, reused, err := takeGit(ctx, root, gd, ids)
		if err != nil {
			return nil, false, err
		}
		for _, id := range ids {
			snaps = append(snaps, Snapshot{ID: id, Workspace: root, Kind: KindGit, Ref: tree})
		}
		return snaps, reused, nil
	}
	for i, id := range ids {
		var dir string
		var err error
		if i == 0 {
			dir, err = takeCopy(ctx, root, id)
		} else {
			dir, err = takeLinked(ctx, root, snaps[0].Ref, id)
		}
		if err != nil {
			for _, s := range snaps {
				_ = s.Release(context.WithoutCancel(ctx))
			}
			return nil, false, err
		}
		snaps = append(snaps, Snapshot{ID: id, Workspace: root, Kind: KindCopy, Ref: dir})
	}
	return snaps, false, nil
}

// Release deletes what keeps the snapshot alive: refs/handoff/<ID>, or the
// snapshot copy; a stored snapshot holds nothing outside the database.
// Releasing twice, or after the workspace is gone, is not an error.
func (s Snapshot) Release(ctx context.Context) error {
	if s.Kind == KindStored {
		return nil
	}
	if _, err := os.Stat(s.Workspace); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if !validID(s.ID) {
		return fmt.Errorf("snapshot id %q is not valid; the task record is damaged", s.ID)
	}
	switch s.Kind {
	case KindGit:
		if _, ok := gitDir(s.Workspace); !ok {
			return nil
		}
		_, err := gitCmd{dir: s.Workspace, args: []string{"update-ref", "-d", refName(s.ID)}}.run(ctx)
		return err
	case KindCopy:
		dir, err := s.copyDir()
		if err != nil {
			return err
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("release snapshot %s: %w", s.ID, err)
		}
		return nil
	default:
		return s.badKind()
	}
}

// validID reports whether id can name a ref component and a directory.
func validID(id string) bool {
	return idPattern.MatchString(id) && !strings.Contains(id, "..") && !strings.HasSuffix(id, ".lock") && !strings.HasSuffix(id, ".")
}

// refName is the ref that keeps a git snapshot's tree from gc.
func refName(id string) string { return "refs/handoff/" + id }

// snapshotsDir is where copy snapshots live.
func snapshotsDir(root string) string {
	return filepath.Join(root, StateDirName, "snapshots")
}

// copyDir returns s.Ref after checking that it is the snapshot copy
// directory for s.ID, so a damaged record can never make handoff read or
// delete another directory.
func (s Snapshot) copyDir() (string, error) {
	want := filepath.Join(snapshotsDir(s.Workspace), s.ID)
	if s.ID == "" || filepath.Clean(s.Ref) != want {
		return "", fmt.Errorf("snapshot %q records the copy directory %q, expected %s; the task record is damaged, submit the task again", s.ID, s.Ref, want)
	}
	return want, nil
}

func (s Snapshot) badKind() error {
	if s.Kind == KindStored {
		return fmt.Errorf("snapshot %q is stored in the database only; localise it first (Localize)", s.ID)
	}
	return fmt.Errorf("snapshot %q has unknown kind %q (want %q, %q or %q); the task record is damaged, submit the task again", s.ID, s.Kind, KindGit, KindCopy, KindStored)
}
