package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Kinds of snapshot entries beyond entryFile and entrySymlink.
const (
	entryDir       = "dir"
	entrySubmodule = "submodule"
)

// snapEntry is what a snapshot holds at one path.
type snapEntry struct {
	kind string      // entryFile, entrySymlink, entryDir or entrySubmodule
	exec bool        // regular file with the executable bit
	oid  string      // git object id (git snapshots)
	path string      // file in the copy (copy snapshots)
	info fs.FileInfo // of path (copy snapshots)
}

// lookup returns the snapshot's entry for each slash-separated relative
// path; paths the snapshot did not have are absent from the map.
func (s Snapshot) lookup(ctx context.Context, rels []string) (map[string]snapEntry, error) {
	found := make(map[string]snapEntry, len(rels))
	switch s.Kind {
	case KindGit:
		args := append([]string{"ls-tree", "-z", "--full-tree", s.Ref, "--"}, rels...)
		if err := s.lsTree(ctx, args, found); err != nil {
			return nil, err
		}
	case KindCopy:
		dir, err := s.copyDir()
		if err != nil {
			return nil, err
		}
		for _, rel := range rels {
			p, fi, err := lstatNoFollow(dir, rel)
			if err != nil {
				return nil, fmt.Errorf("read snapshot %s: %w", s.ID, err)
			}
			if fi == nil {
				continue
			}
			e := snapEntry{path: p, info: fi}
			switch {
			case fi.IsDir():
				e.kind = entryDir
			case fi.Mode()&fs.ModeSymlink != 0:
				e.kind = entrySymlink
			case fi.Mode().IsRegular():
				e.kind, e.exec = entryFile, isExec(fi.Mode())
			default:
				continue
			}
			found[rel] = e
		}
	default:
		return nil, s.badKind()
	}
	return found, nil
}

// lsTree runs git ls-tree with args (-z, without --name-only) and records
// each entry it prints in found, by path.
func (s Snapshot) lsTree(ctx context.Context, args []string, found map[string]snapEntry) error {
	out, err := gitCmd{dir: s.Workspace, env: []string{"GIT_LITERAL_PATHSPECS=1"}, args: args}.run(ctx)
	if err != nil {
		return fmt.Errorf("read snapshot %s: %w", s.ID, err)
	}
	for _, rec := range bytes.Split(out, []byte{0}) {
		meta, name, ok := bytes.Cut(rec, []byte{'\t'})
		if !ok {
			continue
		}
		f := strings.Fields(string(meta)) // mode type oid
		if len(f) != 3 {
			return fmt.Errorf("read snapshot %s: unexpected git ls-tree output %q", s.ID, rec)
		}
		e := snapEntry{oid: f[2]}
		switch f[0] {
		case "100644":
			e.kind = entryFile
		case "100755":
			e.kind, e.exec = entryFile, true
		case "120000":
			e.kind = entrySymlink
		case "160000":
			e.kind = entrySubmodule
		default:
			e.kind = entryDir
		}
		found[string(name)] = e
	}
	return nil
}

// content returns a file's bytes (as checked out) or a symlink's target.
func (s Snapshot) content(ctx context.Context, rel string, e snapEntry) ([]byte, error) {
	switch {
	case e.kind != entryFile && e.kind != entrySymlink:
		return nil, fmt.Errorf("%s in snapshot %s is a %s, not a file", rel, s.ID, e.kind)
	case s.Kind == KindCopy && e.kind == entrySymlink:
		target, err := os.Readlink(e.path)
		return []byte(target), err
	case s.Kind == KindCopy:
		return os.ReadFile(e.path)
	case e.kind == entrySymlink:
		return gitCmd{dir: s.Workspace, args: []string{"cat-file", "blob", e.oid}}.run(ctx)
	default:
		return gitCmd{dir: s.Workspace, args: []string{"cat-file", "--filters", "--path=" + rel, e.oid}}.run(ctx)
	}
}

// lstatNoFollow stats base/rel without following any symlink on the way:
// fi is nil when the path does not exist or passes through a symlink or a
// non-directory, as a path inside a git tree would not exist either.
func lstatNoFollow(base, rel string) (string, fs.FileInfo, error) {
	parts := strings.Split(rel, "/")
	cur := base
	for i, part := range parts {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return cur, nil, nil
		}
		if err != nil {
			return cur, nil, err
		}
		if i == len(parts)-1 {
			return cur, fi, nil
		}
		if !fi.IsDir() {
			return cur, nil, nil
		}
	}
	return cur, nil, nil
}
