package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Resolve checks that p, relative to root or absolute, names a path inside
// root and returns it cleaned, slash-separated and relative to root ("." for
// root itself). It rejects paths that climb out with "..", absolute paths
// elsewhere, and paths any existing component of which is a symlink that
// resolves outside root (or dangles). The final component need not exist.
// Every rejection wraps ErrOutsideWorkspace.
func Resolve(root, p string) (string, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("workspace root %q: %w", root, err)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("workspace root %s cannot be resolved; pass an existing directory: %w", root, err)
	}
	rel, err := relInside(root, realRoot, p)
	if err != nil {
		return "", err
	}
	if err := checkSymlinks(realRoot, rel, p); err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}

// relInside turns p into a clean relative path under the root, lexically.
func relInside(root, realRoot, p string) (string, error) {
	switch {
	case p == "":
		return "", fmt.Errorf("%w: the path is empty; give a path relative to the workspace root %s", ErrOutsideWorkspace, realRoot)
	case strings.ContainsRune(p, 0):
		return "", fmt.Errorf("%w: the path %q contains a NUL byte", ErrOutsideWorkspace, p)
	}
	if filepath.IsAbs(p) {
		return absInside(root, realRoot, p)
	}
	rel := filepath.Clean(p)
	if climbs(rel) {
		return "", fmt.Errorf("%w: %q climbs out of the workspace %s through \"..\"; give a path inside the workspace", ErrOutsideWorkspace, p, realRoot)
	}
	return rel, nil
}

// absInside accepts an absolute p under root, as given or as resolved.
func absInside(root, realRoot, p string) (string, error) {
	c := filepath.Clean(p)
	for _, base := range []string{realRoot, filepath.Clean(root)} {
		if rel, ok := within(base, c); ok {
			return rel, nil
		}
	}
	// p may reach the root through a symlink of its own (/tmp → /private/tmp).
	if resolved, err := resolveExisting(c); err == nil {
		if rel, ok := within(realRoot, resolved); ok {
			return rel, nil
		}
	}
	return "", fmt.Errorf("%w: %s is not inside the workspace %s; give a path inside it, or relative to it", ErrOutsideWorkspace, p, realRoot)
}

// checkSymlinks walks rel below realRoot and rejects any existing component
// that is a symlink whose target is outside realRoot or missing.
func checkSymlinks(realRoot, rel, p string) error {
	if rel == "." {
		return nil
	}
	cur := realRoot
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			// ENOTDIR and friends: nothing further exists, nothing escapes.
			return nil
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		target, err := filepath.EvalSymlinks(cur)
		if err != nil {
			return fmt.Errorf("%w: %q goes through the symlink %s, which dangles; remove the link or use another path", ErrOutsideWorkspace, p, cur)
		}
		if _, ok := within(realRoot, target); !ok {
			return fmt.Errorf("%w: %q goes through the symlink %s, which points outside the workspace to %s; use a path that stays inside %s", ErrOutsideWorkspace, p, cur, target, realRoot)
		}
	}
	return nil
}

// within returns p relative to base when p is base or below it.
func within(base, p string) (string, bool) {
	rel, err := filepath.Rel(base, p)
	if err != nil || climbs(rel) {
		return "", false
	}
	return rel, true
}

// climbs reports whether a clean relative path starts with "..".
func climbs(rel string) bool {
	return rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel)
}

// resolveExisting resolves symlinks in the longest existing prefix of the
// absolute path p and appends the rest unchanged.
func resolveExisting(p string) (string, error) {
	rest := ""
	for cur := p; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest), nil
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return "", fmt.Errorf("no part of %s exists", p)
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// cleanRel validates a snapshot-relative path without touching the file
// system: relative, no "..", not empty. It returns the clean slash form.
func cleanRel(rel string) (string, error) {
	if rel == "" || strings.ContainsRune(rel, 0) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("%w: %q is not a relative path inside the workspace", ErrOutsideWorkspace, rel)
	}
	c := filepath.Clean(filepath.FromSlash(rel))
	if climbs(c) || c == "." {
		return "", fmt.Errorf("%w: %q does not name a file inside the workspace", ErrOutsideWorkspace, rel)
	}
	return filepath.ToSlash(c), nil
}
