package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
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
	rel, err := relInside(root, realRoot, p, true)
	if err != nil {
		return "", err
	}
	return rel, checkSymlinks(os.DirFS(realRoot).(fs.ReadLinkFS), realRoot, rel, p)
}

// ResolveFS is Resolve for a workspace seen as fsys (a stored tree) whose
// root is root on the machine that sent it: root is never read, only
// matched against absolute paths and link targets, and named in messages.
func ResolveFS(fsys fs.ReadLinkFS, root, p string) (string, error) {
	root = filepath.Clean(root)
	rel, err := relInside(root, root, p, false)
	if err != nil {
		return "", err
	}
	return rel, checkSymlinks(fsys, root, rel, p)
}

// relInside turns p into a clean relative path under the root, lexically
// (and, with onDisk, through the symlinks of an absolute p's own path).
func relInside(root, realRoot, p string, onDisk bool) (string, error) {
	switch {
	case p == "":
		return "", fmt.Errorf("%w: the path is empty; give a path relative to the workspace root %s", ErrOutsideWorkspace, realRoot)
	case strings.ContainsRune(p, 0):
		return "", fmt.Errorf("%w: the path %q contains a NUL byte", ErrOutsideWorkspace, p)
	}
	if filepath.IsAbs(p) {
		return absInside(root, realRoot, p, onDisk)
	}
	rel := filepath.Clean(p)
	if climbs(rel) {
		return "", fmt.Errorf("%w: %q climbs out of the workspace %s through \"..\"; give a path inside the workspace", ErrOutsideWorkspace, p, realRoot)
	}
	return filepath.ToSlash(rel), nil
}

// absInside accepts an absolute p under root, as given or as resolved.
func absInside(root, realRoot, p string, onDisk bool) (string, error) {
	c := filepath.Clean(p)
	for _, base := range []string{realRoot, filepath.Clean(root)} {
		if rel, ok := within(base, c); ok {
			return filepath.ToSlash(rel), nil
		}
	}
	// p may reach the root through a symlink of its own (/tmp → /private/tmp).
	if onDisk {
		if resolved, err := resolveExisting(c); err == nil {
			if rel, ok := within(realRoot, resolved); ok {
				return filepath.ToSlash(rel), nil
			}
		}
	}
	return "", fmt.Errorf("%w: %s is not inside the workspace %s; give a path inside it, or relative to it", ErrOutsideWorkspace, p, realRoot)
}

// checkSymlinks walks rel (slash-separated) in fsys, the workspace whose
// root is root, and rejects any existing component that is a symlink
// whose target, resolved within the workspace, leads outside it or to
// nothing.
func checkSymlinks(fsys fs.ReadLinkFS, root, rel, p string) error {
	if rel == "." {
		return nil
	}
	cur := "."
	for _, part := range strings.Split(rel, "/") {
		cur = path.Join(cur, part)
		fi, err := fsys.Lstat(cur)
		if err != nil {
			// Missing, ENOTDIR and friends: nothing further exists, nothing escapes.
			return nil
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		link := filepath.Join(root, filepath.FromSlash(cur))
		target, err := evalLinks(fsys, root, cur)
		var out *outsideError
		switch {
		case errors.As(err, &out):
			return fmt.Errorf("%w: %q goes through the symlink %s, which points outside the workspace to %s; use a path that stays inside %s", ErrOutsideWorkspace, p, link, out.target, root)
		case err != nil:
			return fmt.Errorf("%w: %q goes through the symlink %s, which dangles; remove the link or use another path", ErrOutsideWorkspace, p, link)
		}
		cur = target
	}
	return nil
}

// outsideError is a link target outside the workspace.
type outsideError struct{ target string }

func (e *outsideError) Error() string { return "outside the workspace: " + e.target }

// evalLinks resolves every symlink of rel within fsys, lexically, as
// filepath.EvalSymlinks would on the workspace at root: the path rel names,
// which exists, or an error (an *outsideError when a link leads out).
func evalLinks(fsys fs.ReadLinkFS, root, rel string) (string, error) {
	parts := strings.Split(rel, "/")
	cur, hops := ".", 0
	for i := 0; i < len(parts); i++ {
		next := path.Join(cur, parts[i])
		fi, err := fsys.Lstat(next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", rel)
		}
		t, err := fsys.ReadLink(next)
		if err != nil {
			return "", err
		}
		var resolved string
		if filepath.IsAbs(t) {
			r, ok := within(root, filepath.Clean(t))
			if !ok {
				return "", &outsideError{t}
			}
			resolved = filepath.ToSlash(r)
		} else {
			resolved = path.Join(cur, filepath.ToSlash(t))
			if resolved == ".." || strings.HasPrefix(resolved, "../") {
				return "", &outsideError{filepath.Join(root, filepath.FromSlash(cur), t)}
			}
		}
		parts = append(strings.Split(resolved, "/"), parts[i+1:]...)
		cur, i = ".", -1
	}
	return cur, nil
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
