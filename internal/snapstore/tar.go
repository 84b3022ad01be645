package snapstore

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// TarGz is a Source for a gzip-compressed tar archive of a workspace's
// root: regular files, executables and symbolic links that stay inside
// it; directories are implied. An entry with "..", an absolute path, a
// symbolic link pointing outside the workspace, a device file or a fifo
// is ErrBadEntry, and the whole archive is refused; .git and .handoff at
// the root are left out, as a snapshot leaves them out. The archive is
// read once, by Tree, within Limits (ErrTooLarge past them).
type TarGz struct {
	R      io.Reader
	Limits Limits

	contents map[string][]byte // blob ID → content, after Tree
}

// Tree reads the archive.
func (a *TarGz) Tree(ctx context.Context) (Tree, error) {
	limits := a.Limits.withDefaults()
	zr, err := gzip.NewReader(a.R)
	if err != nil {
		return Tree{}, fmt.Errorf("%w: the snapshot is not gzip-compressed (%v); send a tar.gz, as `tar -czf - .` writes", ErrBadEntry, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	a.contents = map[string][]byte{}
	byPath := map[string]int{} // path → its index in entries: a later entry replaces an earlier one, as tar extracts
	var entries []Entry
	var total int64
	add := func(e Entry, content []byte) {
		e.ID, e.Size = BlobID(content), int64(len(content))
		a.contents[e.ID] = content
		if i, ok := byPath[e.Path]; ok {
			total -= entries[i].Size
			entries[i] = e
		} else {
			byPath[e.Path] = len(entries)
			entries = append(entries, e)
		}
		total += e.Size
	}
	for {
		if err := ctx.Err(); err != nil {
			return Tree{}, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Tree{}, fmt.Errorf("%w: the snapshot's tar archive cannot be read: %v; send a tar.gz, as `tar -czf - .` writes", ErrBadEntry, err)
		}
		name, skip, err := tarPath(h.Name)
		if err != nil {
			return Tree{}, err
		}
		if skip {
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir, tar.TypeXGlobalHeader, tar.TypeXHeader:
			continue
		case tar.TypeReg, tar.TypeGNUSparse:
			if h.Size > limits.MaxFile {
				return Tree{}, limits.fileErr(Entry{Path: name, Size: h.Size})
			}
			if total+h.Size > limits.MaxTotal {
				return Tree{}, limits.totalErr(total + h.Size)
			}
			content, err := io.ReadAll(io.LimitReader(tr, h.Size))
			if err != nil {
				return Tree{}, fmt.Errorf("%w: reading %s from the snapshot's archive: %v", ErrBadEntry, name, err)
			}
			mode := ModeFile
			if h.Mode&0o111 != 0 {
				mode = ModeExecutable
			}
			add(Entry{Path: name, Mode: mode}, content)
		case tar.TypeSymlink:
			if err := linkInside(name, h.Linkname); err != nil {
				return Tree{}, err
			}
			add(Entry{Path: name, Mode: ModeSymlink}, []byte(h.Linkname))
		case tar.TypeLink:
			target, _, err := tarPath(h.Linkname)
			i, ok := byPath[target]
			if err != nil || !ok || entries[i].Mode == ModeSymlink {
				return Tree{}, fmt.Errorf("%w: %s is a hard link to %s, which is not a file earlier in the archive; archive the files themselves (tar --hard-dereference)", ErrBadEntry, name, h.Linkname)
			}
			e := entries[i]
			add(Entry{Path: name, Mode: e.Mode}, a.contents[e.ID])
		case tar.TypeChar, tar.TypeBlock:
			return Tree{}, fmt.Errorf("%w: %s is a device file; a snapshot holds files, executables and symbolic links only: leave it out of the archive", ErrBadEntry, name)
		case tar.TypeFifo:
			return Tree{}, fmt.Errorf("%w: %s is a fifo (named pipe); a snapshot holds files, executables and symbolic links only: leave it out of the archive", ErrBadEntry, name)
		default:
			return Tree{}, fmt.Errorf("%w: %s has tar type %q, which a snapshot cannot hold; archive files, executables and symbolic links only", ErrBadEntry, name, h.Typeflag)
		}
	}
	t := Tree{Entries: entries}
	if err := t.Check(); err != nil {
		return Tree{}, err
	}
	links := map[string]string{}
	for _, e := range entries {
		if e.Mode == ModeSymlink {
			links[e.Path] = string(a.contents[e.ID])
		}
	}
	for name := range links {
		if !staysInside(name, links) {
			return Tree{}, fmt.Errorf("%w: %s is a symbolic link to %s, which leads outside the workspace through other links; archive the file it points to instead (tar -h), or leave it out",
				ErrBadEntry, name, links[name])
		}
	}
	return t, nil
}

// staysInside follows the symbolic link at name through the archive's
// other links, component by component, and reports whether it stays
// inside the workspace: a link whose own target looks inside can still
// leave through another link ("d/l/../.." where d/l leads elsewhere).
func staysInside(name string, links map[string]string) bool {
	// Not cleaned first: "l/.." is l's parent only once l is followed.
	pending := append(strings.Split(path.Dir(name), "/"), strings.Split(links[name], "/")...)
	var at []string // the resolved components so far
	for hops := 0; len(pending) > 0; {
		part := pending[0]
		pending = pending[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(at) == 0 {
				return false
			}
			at = at[:len(at)-1]
			continue
		}
		p := path.Join(append(at, part)...)
		target, ok := links[p]
		if !ok {
			at = append(at, part)
			continue
		}
		if hops++; hops > 40 || strings.HasPrefix(target, "/") {
			return false // a loop, or out
		}
		pending = append(strings.Split(target, "/"), pending...)
	}
	return true
}

// Read returns contents the archive held.
func (a *TarGz) Read(_ context.Context, ids []string, fn func(id string, content []byte) error) error {
	for _, id := range ids {
		content, ok := a.contents[id]
		if !ok {
			return fmt.Errorf("blob %s is not in the archive", id)
		}
		if err := fn(id, content); err != nil {
			return err
		}
	}
	return nil
}

// tarPath cleans an archive entry's name into a workspace path, refusing
// one that is absolute or climbs out; skip is true for the root itself and
// for what a snapshot leaves out (.git and .handoff at the root).
func tarPath(name string) (p string, skip bool, err error) {
	if strings.HasPrefix(name, "/") {
		return "", false, fmt.Errorf("%w: %s is an absolute path; archive the workspace's files relative to its root (tar -C DIR -czf - .)", ErrBadEntry, name)
	}
	if strings.ContainsRune(name, 0) || strings.Contains(name, "\\") {
		return "", false, fmt.Errorf("%w: %q is not a usable path; archive the workspace's files relative to its root", ErrBadEntry, name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", false, fmt.Errorf("%w: %s climbs out of the workspace through \"..\"; archive the workspace's files relative to its root (tar -C DIR -czf - .)", ErrBadEntry, name)
		}
	}
	p = path.Clean(name)
	if p == "." {
		return "", true, nil
	}
	top, _, _ := strings.Cut(p, "/")
	return p, top == ".git" || top == ".handoff", nil
}

// linkInside refuses a symbolic link at name whose target is absolute or
// leads out of the workspace.
func linkInside(name, target string) error {
	if target == "" || strings.HasPrefix(target, "/") {
		return fmt.Errorf("%w: %s is a symbolic link to %s, outside the workspace; archive the file it points to instead (tar -h), or leave it out", ErrBadEntry, name, target)
	}
	if resolved := path.Join(path.Dir(name), target); resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("%w: %s is a symbolic link to %s, outside the workspace; archive the file it points to instead (tar -h), or leave it out", ErrBadEntry, name, target)
	}
	return nil
}
