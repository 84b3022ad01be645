package workspace

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// takeGit writes the work tree's current state as a tree object and pins it
// with refs/handoff/<id> for each id, in one ref transaction. When nothing
// git would read changed since the last snapshot of the workspace, that
// snapshot's tree is pinned instead and reused is true (see reuse.go).
// Otherwise git works on a private copy of the index: starting from the
// user's index means git re-hashes only files whose stat data changed, and
// the user's index is never written.
func takeGit(ctx context.Context, root, gitDirPath string, ids []string) (tree string, reused bool, err error) {
	r := newReuser(root, gitDirPath)
	if tree, ok, err := r.try(ctx, ids); ok || err != nil {
		return tree, ok, err
	}
	index, marker, tracked, err := newIndex(root, gitDirPath)
	if err != nil {
		return "", false, fmt.Errorf("snapshot %s: temporary index: %w", root, err)
	}
	defer os.Remove(index)
	// What the next snapshot decides from is gathered beside git.
	recorded := make(chan reuseState, 1)
	go func() { recorded <- r.record(ctx, marker, tracked) }()

	tree, err = writeTree(ctx, root, index)
	if err != nil {
		<-recorded
		return "", false, fmt.Errorf("snapshot %s: %w", root, err)
	}
	// The state is stored while the refs are written: a reuse trusts it
	// only once the cache ref, moved in the same transaction as the task
	// refs, holds its tree.
	stored := make(chan struct{})
	go func() {
		defer close(stored)
		next := <-recorded
		if next.Marker != 0 {
			next.Tree = tree
		}
		if r.stamps {
			_ = next.store(root) // without it the next snapshot is written in full
		}
	}()
	var first []string
	if r.stamps {
		first = append(first, "update "+cacheRef(root)+" "+tree)
	}
	err = pinTree(ctx, root, tree, ids, first...)
	if err != nil && first != nil && ctx.Err() == nil {
		// The cache ref may be locked for good (a crashed git's lock
		// file): the tasks are pinned without it, and no reuse will
		// verify.
		err = pinTree(ctx, root, tree, ids)
	}
	<-stored
	if err != nil {
		return "", false, fmt.Errorf("snapshot %s: pin the tree: %w", root, err)
	}
	return tree, false, nil
}

// writeTree stages the work tree into the temporary index and writes it as
// a tree object.
func writeTree(ctx context.Context, root, index string) (string, error) {
	env := []string{"GIT_INDEX_FILE=" + index}
	run := func(args ...string) ([]byte, error) {
		return gitCmd{dir: root, env: env, args: args}.run(ctx)
	}
	if err := addAll(ctx, root, env); err != nil {
		return "", err
	}
	// .handoff/.gitignore ("*") keeps git add out of the state directory,
	// but the index may still track files under it: forced in by the user
	// once, or added because that .gitignore was edited. Drop them, but only
	// when the index bytes say there may be some, to spare a git call on
	// every snapshot.
	indexData, err := os.ReadFile(index)
	if err != nil && !errors.Is(err, fs.ErrNotExist) { // no index: nothing was added
		return "", fmt.Errorf("read the temporary index: %w", err)
	}
	if indexMayTrack(indexData, StateDirName+"/") {
		if _, err := run("rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", ":(top)"+StateDirName); err != nil {
			return "", err
		}
	}
	out, err := run("write-tree")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// pinTree points refs/handoff/<id> at tree for every id in one ref
// transaction, after the commands in first (verify or update lines).
func pinTree(ctx context.Context, root, tree string, ids []string, first ...string) error {
	var refs strings.Builder
	for _, line := range first {
		refs.WriteString(line + "\n")
	}
	for _, id := range ids {
		fmt.Fprintf(&refs, "update %s %s\n", refName(id), tree)
	}
	_, err := gitCmd{dir: root, args: []string{"update-ref", "-m", "handoff snapshot", "--stdin"},
		stdin: strings.NewReader(refs.String())}.run(ctx)
	return err
}

// noCommitRepo matches git's complaint about an embedded repository that
// has no commit yet, which git add cannot record.
var noCommitRepo = regexp.MustCompile(`(?m)^error: '(.+)/' does not have a commit checked out$`)

// addAll stages the work tree into the temporary index. It never names
// .handoff: git add fails outright when a pathspec, even an exclude one,
// names a path the ignore rules cover (git 2.39, Debian 12's), and most
// repositories ignore .handoff. EnsureStateDir's .handoff/.gitignore keeps
// the state directory out instead, whatever the user's rules say. An
// embedded repository without commits cannot be recorded (a submodule is
// recorded as a commit), so it is left out and the add retried.
func addAll(ctx context.Context, root string, env []string) error {
	env = append(env[:len(env):len(env)], "LC_ALL=C") // stable messages to recognise
	args := []string{"add", "--all", "--", ":(top)"}
	for range 10 {
		_, err := gitCmd{dir: root, env: env, args: args}.run(ctx)
		var gerr *gitError
		if err == nil || !errors.As(err, &gerr) {
			return err
		}
		found := noCommitRepo.FindAllStringSubmatch(gerr.stderr, -1)
		if len(found) == 0 {
			return err
		}
		for _, m := range found {
			args = append(args, ":(top,exclude,literal)"+m[1])
		}
	}
	return fmt.Errorf("git add kept failing on embedded repositories without commits in %s; commit in them or remove them", root)
}

// indexMayTrack reports whether an index file may hold an entry under the
// top-level directory dir ("name/"). Index versions 2 and 3 store each path
// whole; version 4 compresses paths against their predecessor, so for it the
// answer is always yes. A false yes costs one git call; there is no false no.
func indexMayTrack(index []byte, dir string) bool {
	if len(index) >= 8 && binary.BigEndian.Uint32(index[4:8]) == 4 {
		return true
	}
	return bytes.Contains(index, []byte(dir))
}

// newIndex creates the temporary index in the state directory, a copy of
// the user's index when there is one. The copy keeps the original's
// modification time, so git's racy-entry check still re-hashes files written
// in the same instant as the user's index. marker is the file system's time
// when the file was created, before anything was read (0 where unknown or
// when the state directory is on another file system than root);
// tracked is the number of entries in the user's index.
func newIndex(root, gitDirPath string) (path string, marker int64, tracked int, err error) {
	f, err := os.CreateTemp(filepath.Join(root, StateDirName), "snapshot-index-*")
	if err != nil {
		return "", 0, 0, err
	}
	path = f.Name()
	// The marker must come from the work tree's clock: .handoff may be a
	// link to another file system.
	if s, ok, err := statFile(path); ok && err == nil {
		if dev, err := rootDev(root); err == nil && dev == s.device() {
			marker = s.newest()
		}
	}
	data, mtime, err := readIndex(filepath.Join(gitDirPath, "index"))
	if err == nil && data != nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
	case data == nil: // no index yet: git creates the file
		err = os.Remove(path)
	default:
		err = os.Chtimes(path, mtime, mtime)
	}
	if err != nil {
		os.Remove(path)
		return "", 0, 0, err
	}
	if len(data) >= 12 {
		tracked = int(binary.BigEndian.Uint32(data[8:12]))
	}
	return path, marker, tracked, nil
}

// readIndex reads the index file and its modification time; both are nil
// when there is none (a repository where nothing was ever added).
func readIndex(path string) ([]byte, time.Time, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	// Stat and read the same open file: git replaces the index by rename, so
	// the time and the bytes belong together.
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, time.Time{}, err
	}
	return data, fi.ModTime(), nil
}
