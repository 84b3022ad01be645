package workspace

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/handoff-dev/handoff/internal/snapstore"
)

// Here reports whether this machine sees the snapshot where it was taken:
// the workspace holds the snapshot's own ref (git) or copy. Only then may
// a worker materialise it from the workspace and write kept tests into it;
// a directory at the same path on another machine holds neither. A stored
// snapshot is never here: its workspace is the submitter's, elsewhere.
func (s Snapshot) Here(ctx context.Context) bool {
	if !validID(s.ID) || s.Kind == KindStored {
		return false
	}
	switch s.Kind {
	case KindGit:
		if _, ok := gitDir(s.Workspace); !ok {
			return false
		}
		out, err := gitCmd{dir: s.Workspace, args: []string{"rev-parse", "--verify", "--quiet", refName(s.ID)}}.run(ctx)
		return err == nil && len(out) > 0
	case KindCopy:
		dir, err := s.copyDir()
		if err != nil {
			return false
		}
		fi, err := os.Stat(dir)
		return err == nil && fi.IsDir()
	}
	return false
}

// Store puts the snapshot's files into the database, so that workers that
// do not see the workspace can materialise it, and returns it with Tree
// set. Contents the database holds already are not read again. A stored
// snapshot is in the database already: it is returned as it is.
func (s Snapshot) Store(ctx context.Context, st *snapstore.Store) (Snapshot, snapstore.PutStats, error) {
	if s.Kind == KindStored {
		return s, snapstore.PutStats{Reused: true}, nil
	}
	src, err := s.Source()
	if err != nil {
		return s, snapstore.PutStats{}, err
	}
	tree, stats, err := st.Put(ctx, src)
	if err != nil {
		return s, stats, err
	}
	s.Tree = tree
	return s, stats, nil
}

// Source is the snapshot's files as a snapstore.Source, for storing them
// in a database here or sending them to a server.
func (s Snapshot) Source() (snapstore.Source, error) {
	switch s.Kind {
	case KindGit:
		return snapstore.GitTree{Dir: s.Workspace, ID: s.Ref}, nil
	case KindCopy:
		dir, err := s.copyDir()
		if err != nil {
			return nil, err
		}
		return &snapstore.Dir{Root: dir}, nil
	}
	return nil, s.badKind()
}

// Localize materialises the snapshot from the database as a copy snapshot
// under base (base/.handoff/snapshots/<ID>), for a worker that does not see
// the workspace, and returns that copy: Materialize, Restore and the rest
// then work from it as from any copy. Contents are written as git stores
// them: the workspace's checkout filters do not apply. Release the copy
// when the attempt ends.
func (s Snapshot) Localize(ctx context.Context, st *snapstore.Store, base string) (Snapshot, error) {
	if s.Tree == "" {
		return Snapshot{}, fmt.Errorf("snapshot %s is not in the database (an older handoff took it); run the task where the workspace is, or submit it again", s.ID)
	}
	if !validID(s.ID) {
		return Snapshot{}, fmt.Errorf("snapshot id %q is not valid; the task record is damaged", s.ID)
	}
	base, err := filepath.Abs(base)
	if err != nil {
		return Snapshot{}, err
	}
	local := Snapshot{ID: s.ID, Workspace: base, Kind: KindCopy, Ref: filepath.Join(snapshotsDir(base), s.ID), Tree: s.Tree}
	if err := os.RemoveAll(local.Ref); err != nil {
		return Snapshot{}, err
	}
	if _, err := st.Materialize(ctx, s.Tree, local.Ref); err != nil {
		_ = os.RemoveAll(local.Ref)
		return Snapshot{}, fmt.Errorf("materialise snapshot %s from the database: %w", s.ID, err)
	}
	return local, nil
}

// RemoteTaskFile is where a client of a handoff server keeps what it needs
// of a task it submitted there (its snapshot, the request as it checked
// it): <root>/.handoff/remote/<id>.json. An id that is not a task ID (the
// server's answer is not trusted to name a path) is an error.
func RemoteTaskFile(root, id string) (string, error) {
	if !validID(id) {
		return "", fmt.Errorf("%q is not a task ID", id)
	}
	return filepath.Join(root, StateDirName, "remote", id+".json"), nil
}

// WriteRemoteTask writes data as RemoteTaskFile(root, id), atomically.
func WriteRemoteTask(root, id string, data []byte) error {
	p, err := RemoteTaskFile(root, id)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(p, data, 0o644)
}
