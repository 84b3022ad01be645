package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// ReadFile returns a file's contents as of the snapshot, as they would be
// checked out (for a symlink, its target). ok is false when the snapshot had
// no file at rel.
func (s Snapshot) ReadFile(ctx context.Context, rel string) (data []byte, ok bool, err error) {
	rel, err = cleanRel(rel)
	if err != nil {
		return nil, false, err
	}
	found, err := s.lookup(ctx, []string{rel})
	if err != nil {
		return nil, false, err
	}
	e, ok := found[rel]
	if !ok {
		return nil, false, nil
	}
	data, err = s.content(ctx, rel, e)
	if err != nil {
		return nil, false, fmt.Errorf("read %s from snapshot %s: %w", rel, s.ID, err)
	}
	return data, true, nil
}

// Changed reports whether the live workspace file rel differs from the
// snapshot: in content, or by existing now but not then, or the reverse.
// For a directory present in both it reports false without looking inside;
// ask about the files. It costs two git calls for a git snapshot.
func (s Snapshot) Changed(ctx context.Context, rel string) (bool, error) {
	changed, err := s.ChangedAmong(ctx, []string{rel})
	return len(changed) > 0, err
}

// ChangedAmong returns those of rels that Changed would report, resolved
// and in the order given, for the cost of one Changed call (two git calls
// for a git snapshot, whatever the number of paths).
func (s Snapshot) ChangedAmong(ctx context.Context, rels []string) ([]string, error) {
	resolved := make([]string, len(rels))
	for i, rel := range rels {
		r, err := Resolve(s.Workspace, rel)
		if err != nil {
			return nil, err
		}
		resolved[i] = r
	}
	reasons, _, err := s.drift(ctx, resolved)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, r := range resolved {
		if reasons[r] != "" {
			changed = append(changed, r)
		}
	}
	return changed, nil
}

// drift compares live workspace paths (already resolved) with the snapshot
// and returns, for each path that differs, why; unchanged paths map to "".
// seen holds what Lstat said of each path when it was compared (nil: no
// such file). A git workspace costs two git calls whatever the number of
// paths.
func (s Snapshot) drift(ctx context.Context, rels []string) (reasons map[string]string, seen map[string]fs.FileInfo, err error) {
	snap, err := s.lookup(ctx, rels)
	if err != nil {
		return nil, nil, err
	}
	reasons = make(map[string]string, len(rels))
	seen = make(map[string]fs.FileInfo, len(rels))
	var hashPaths []string // live regular files to compare with a git blob
	for _, rel := range rels {
		live, err := os.Lstat(filepath.Join(s.Workspace, filepath.FromSlash(rel)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return nil, nil, fmt.Errorf("compare %s with the snapshot: %w", rel, err)
		}
		seen[rel] = live
		e, had := snap[rel]
		reason, decided := quickDrift(live, e, had)
		if decided {
			reasons[rel] = reason
			continue
		}
		switch {
		case s.Kind == KindGit && e.kind == entryFile:
			hashPaths = append(hashPaths, rel)
		default:
			same, err := s.sameContent(ctx, rel, e, live)
			if err != nil {
				return nil, nil, err
			}
			reasons[rel] = changedUnless(same)
		}
	}
	if len(hashPaths) > 0 {
		oids, err := s.hashLive(ctx, hashPaths)
		if err != nil {
			return nil, nil, err
		}
		for i, rel := range hashPaths {
			reasons[rel] = changedUnless(oids[i] == snap[rel].oid)
		}
	}
	return reasons, seen, nil
}

// Reasons a workspace file is not overwritten.
const (
	reasonChanged = "changed in the workspace after the snapshot was taken; handoff does not overwrite it — merge the new file by hand or apply again to an unchanged file"
	reasonCreated = "created in the workspace after the snapshot was taken (the snapshot had no such file); handoff does not overwrite it — move it away and apply again"
	reasonDeleted = "deleted from the workspace after the snapshot was taken; handoff does not recreate it — restore it and apply again"
	reasonDir     = "is a directory in the workspace; handoff writes only files"
)

func changedUnless(same bool) string {
	if same {
		return ""
	}
	return reasonChanged
}

// quickDrift decides from types alone when it can.
func quickDrift(live fs.FileInfo, e snapEntry, had bool) (reason string, decided bool) {
	switch {
	case live == nil && !had:
		return "", true
	case live != nil && live.IsDir():
		if had && e.kind == entryDir {
			return "", true
		}
		return reasonDir, true
	case live == nil:
		return reasonDeleted, true
	case !had:
		return reasonCreated, true
	case live.Mode()&fs.ModeSymlink != 0:
		return reasonChanged, e.kind != entrySymlink
	case live.Mode().IsRegular():
		return reasonChanged, e.kind != entryFile
	default:
		return reasonChanged, true
	}
}

// sameContent compares a live file or symlink with the snapshot's bytes.
func (s Snapshot) sameContent(ctx context.Context, rel string, e snapEntry, live fs.FileInfo) (bool, error) {
	path := filepath.Join(s.Workspace, filepath.FromSlash(rel))
	var now []byte
	if live.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(path)
		if err != nil {
			return false, err
		}
		now = []byte(target)
	} else {
		if e.info != nil && e.info.Size() != live.Size() {
			return false, nil
		}
		var err error
		if now, err = os.ReadFile(path); err != nil {
			return false, err
		}
	}
	then, err := s.content(ctx, rel, e)
	if err != nil {
		return false, err
	}
	return bytes.Equal(now, then), nil
}

// hashLive returns the git object id each live file would get if added,
// with the workspace's clean filters applied, in the order given.
func (s Snapshot) hashLive(ctx context.Context, rels []string) ([]string, error) {
	oids := make([]string, len(rels))
	var batch []string
	var batchIdx []int
	for i, rel := range rels {
		if strings.ContainsAny(rel, "\n\r") { // cannot travel on a line
			out, err := gitCmd{dir: s.Workspace, args: []string{"hash-object", "--", rel}}.run(ctx)
			if err != nil {
				return nil, err
			}
			oids[i] = strings.TrimSpace(string(out))
			continue
		}
		batch = append(batch, rel)
		batchIdx = append(batchIdx, i)
	}
	if len(batch) == 0 {
		return oids, nil
	}
	in := strings.NewReader(strings.Join(batch, "\n") + "\n")
	out, err := gitCmd{dir: s.Workspace, stdin: in, args: []string{"hash-object", "--stdin-paths"}}.run(ctx)
	if err != nil {
		return nil, fmt.Errorf("compare workspace files with snapshot %s: %w", s.ID, err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(batch) {
		return nil, fmt.Errorf("compare workspace files with snapshot %s: git hash-object returned %d ids for %d files", s.ID, len(lines), len(batch))
	}
	for j, oid := range lines {
		oids[batchIdx[j]] = oid
	}
	return oids, nil
}

// FilesIn returns the files (regular files and symlinks) the snapshot held
// directly in the directory dir ("." for the root), as slash-separated paths
// relative to the workspace, sorted. A directory the snapshot did not have
// holds nothing.
func (s Snapshot) FilesIn(ctx context.Context, dir string) ([]string, error) {
	dir, err := Resolve(s.Workspace, dir)
	if err != nil {
		return nil, err
	}
	var names []string
	switch s.Kind {
	case KindGit:
		args := []string{"ls-tree", "-z", "--full-tree", s.Ref}
		if dir != "." {
			args = append(args, "--", dir+"/")
		}
		found := map[string]snapEntry{}
		if err := s.lsTree(ctx, args, found); err != nil {
			return nil, err
		}
		for name, e := range found {
			if e.kind == entryFile || e.kind == entrySymlink {
				names = append(names, name)
			}
		}
	case KindCopy:
		root, err := s.copyDir()
		if err != nil {
			return nil, err
		}
		entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read snapshot %s: %w", s.ID, err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0 {
				names = append(names, path.Join(dir, e.Name()))
			}
		}
	default:
		return nil, s.badKind()
	}
	sort.Strings(names)
	return names, nil
}
