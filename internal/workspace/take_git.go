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
)

// takeGit writes the work tree's current state as a tree object and pins it
// with refs/handoff/<id> for each id. It works on a private copy of the index: starting
// from the user's index means git re-hashes only files whose stat data
// changed, and the user's index is never written.
func takeGit(ctx context.Context, root, gitDirPath string, ids []string) (string, error) {
	tmp, err := os.MkdirTemp("", "handoff-index-")
	if err != nil {
		return "", fmt.Errorf("snapshot %s: temporary index: %w", root, err)
	}
	defer os.RemoveAll(tmp)
	index := filepath.Join(tmp, "index")
	indexData, err := copyIndex(filepath.Join(gitDirPath, "index"), index)
	if err != nil {
		return "", fmt.Errorf("snapshot %s: copy the git index: %w", root, err)
	}
	env := []string{"GIT_INDEX_FILE=" + index}
	run := func(args ...string) ([]byte, error) {
		return gitCmd{dir: root, env: env, args: args}.run(ctx)
	}
	if err := addAll(ctx, root, env); err != nil {
		return "", fmt.Errorf("snapshot %s: %w", root, err)
	}
	// The copied index may track files under .handoff/ (if the user once
	// forced them in); drop them, but only when the index bytes say there
	// may be some, to spare a git call on every snapshot.
	if indexMayTrack(indexData, StateDirName+"/") {
		if _, err := run("rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", ":(top)"+StateDirName); err != nil {
			return "", fmt.Errorf("snapshot %s: %w", root, err)
		}
	}
	out, err := run("write-tree")
	if err != nil {
		return "", fmt.Errorf("snapshot %s: %w", root, err)
	}
	tree := strings.TrimSpace(string(out))
	// One ref transaction pins the tree under every id: all or none.
	var refs strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&refs, "update %s %s\n", refName(id), tree)
	}
	if _, err := (gitCmd{dir: root, env: env, args: []string{"update-ref", "-m", "handoff snapshot", "--stdin"},
		stdin: strings.NewReader(refs.String())}).run(ctx); err != nil {
		return "", fmt.Errorf("snapshot %s: pin the tree: %w", root, err)
	}
	return tree, nil
}

// noCommitRepo matches git's complaint about an embedded repository that
// has no commit yet, which git add cannot record.
var noCommitRepo = regexp.MustCompile(`(?m)^error: '(.+)/' does not have a commit checked out$`)

// addAll stages everything but .handoff into the temporary index. An
// embedded repository without commits cannot be recorded (a submodule is
// recorded as a commit), so it is left out and the add retried.
func addAll(ctx context.Context, root string, env []string) error {
	env = append(env[:len(env):len(env)], "LC_ALL=C") // stable messages to recognise
	args := []string{"add", "--all", "--", ":(top)", ":(top,exclude)" + StateDirName}
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

// copyIndex copies the index file (absent in a repository where nothing was
// ever added) and gives the copy the original's modification time, so git's
// racy-entry check still re-hashes files written in the same instant as the
// user's index. It returns the bytes copied.
func copyIndex(src, dst string) ([]byte, error) {
	f, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Stat and read the same open file: git replaces the index by rename, so
	// the time and the bytes belong together.
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		return nil, err
	}
	if err := os.Chtimes(dst, fi.ModTime(), fi.ModTime()); err != nil {
		return nil, err
	}
	return data, nil
}
