package workspace

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Root returns the workspace root for dir: the top of the git work tree that
// contains dir, else dir itself. The result is absolute with symlinks
// resolved. It fails when dir does not exist or is not a directory.
//
// Root finds the work tree by looking for .git upwards, as git does, without
// starting a process, so it costs a few stat calls.
func Root(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("workspace %q: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("workspace %s does not exist or cannot be read; pass an existing directory: %w", abs, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("workspace %s: %w", real, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("workspace %s is a file, not a directory; pass the directory that holds the code", real)
	}
	for d := real; ; {
		if _, ok := gitDir(d); ok {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return real, nil
		}
		d = parent
	}
}

// gitDir returns the git directory of the work tree whose top is root: root/.git
// when that is a directory holding HEAD, or the directory named by a .git file
// ("gitdir: …", as in worktrees and submodules). ok is false when root is not
// the top of a git work tree.
func gitDir(root string) (dir string, ok bool) {
	dotGit := filepath.Join(root, ".git")
	fi, err := os.Lstat(dotGit)
	if err != nil {
		return "", false
	}
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(dotGit, "HEAD")); err != nil {
			return "", false
		}
		return dotGit, true
	}
	if !fi.Mode().IsRegular() {
		return "", false
	}
	data, err := os.ReadFile(dotGit)
	if err != nil {
		return "", false
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	target, found := strings.CutPrefix(strings.TrimSpace(string(line)), "gitdir:")
	if !found {
		return "", false
	}
	target = strings.TrimSpace(target)
	if !filepath.IsAbs(target) {
		target = filepath.Join(root, target)
	}
	return filepath.Clean(target), true
}
