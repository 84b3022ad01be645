package snapstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// FS returns the stored tree id as a read-only file system, without
// writing it anywhere: listing and stat come from the tree's entries, and
// a file's content is read from the database only when the file is read.
// Symbolic links are followed within the tree (a relative target, as
// Materialize writes them); ReadLink and Lstat show them. ctx bounds the
// reads of contents.
func (s *Store) FS(ctx context.Context, id string) (fs.ReadLinkFS, error) {
	t, err := s.Tree(ctx, id)
	if err != nil {
		return nil, err
	}
	f := &treeFS{ctx: ctx, s: s, files: make(map[string]Entry, len(t.Entries)), dirs: map[string][]fs.DirEntry{".": nil},
		links: map[string]string{}}
	for _, e := range t.Entries {
		f.files[e.Path] = e
		child := fs.DirEntry(dirEntry{name: path.Base(e.Path), e: e})
		for p := e.Path; p != "."; {
			dir := path.Dir(p)
			_, known := f.dirs[dir]
			f.dirs[dir] = append(f.dirs[dir], child)
			if known {
				break
			}
			child, p = dirEntry{name: path.Base(dir), dir: true}, dir
		}
	}
	for _, list := range f.dirs {
		slices.SortFunc(list, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	}
	return f, nil
}

type treeFS struct {
	ctx   context.Context
	s     *Store
	files map[string]Entry
	dirs  map[string][]fs.DirEntry

	mu    sync.Mutex
	links map[string]string // link path → target, as read
}

// maxLinks bounds the links followed resolving one name, as the kernel does.
const maxLinks = 40

// resolve follows the links of name's directories, and of name itself
// when follow is set: the path of what it names, and whether that is a
// directory.
func (f *treeFS) resolve(op, name string, follow bool) (string, bool, error) {
	if !fs.ValidPath(name) {
		return "", false, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	parts := strings.Split(name, "/")
	cur, hops := ".", 0
	for i := 0; i < len(parts); i++ {
		if parts[i] == "." {
			continue
		}
		next := path.Join(cur, parts[i])
		if _, ok := f.dirs[next]; ok {
			cur = next
			continue
		}
		e, ok := f.files[next]
		last := i == len(parts)-1
		switch {
		case !ok:
			return "", false, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		case e.Mode != ModeSymlink || (last && !follow):
			if !last {
				return "", false, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist} // a file is no directory
			}
			return next, false, nil
		}
		if hops++; hops > maxLinks {
			return "", false, &fs.PathError{Op: op, Path: name, Err: errors.New("too many levels of symbolic links")}
		}
		target, err := f.readLink(next, e)
		if err != nil {
			return "", false, &fs.PathError{Op: op, Path: name, Err: err}
		}
		t := path.Join(cur, target)
		if path.IsAbs(target) || t == ".." || strings.HasPrefix(t, "../") {
			return "", false, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist} // leads out of the tree
		}
		parts = append(strings.Split(t, "/"), parts[i+1:]...)
		cur, i = ".", -1
	}
	return cur, true, nil
}

func (f *treeFS) readLink(p string, e Entry) (string, error) {
	f.mu.Lock()
	t, ok := f.links[p]
	f.mu.Unlock()
	if ok {
		return t, nil
	}
	b, err := f.content(e)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	f.links[p] = string(b)
	f.mu.Unlock()
	return string(b), nil
}

func (f *treeFS) content(e Entry) ([]byte, error) {
	var out []byte
	err := f.s.Blobs(f.ctx, []string{e.ID}, func(_ string, b []byte) error {
		out = b
		return nil
	})
	return out, err
}

func (f *treeFS) info(p string, dir bool) fs.FileInfo {
	if dir {
		return dirEntry{name: path.Base(p), dir: true}
	}
	return dirEntry{name: path.Base(p), e: f.files[p]}
}

// Open opens name, following links.
func (f *treeFS) Open(name string) (fs.File, error) {
	p, dir, err := f.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	return &treeFile{f: f, p: p, dir: dir}, nil
}

// Stat follows links.
func (f *treeFS) Stat(name string) (fs.FileInfo, error) {
	p, dir, err := f.resolve("stat", name, true)
	if err != nil {
		return nil, err
	}
	return f.info(p, dir), nil
}

// Lstat does not follow a link that name itself is.
func (f *treeFS) Lstat(name string) (fs.FileInfo, error) {
	p, dir, err := f.resolve("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return f.info(p, dir), nil
}

// ReadLink returns a link's target.
func (f *treeFS) ReadLink(name string) (string, error) {
	p, dir, err := f.resolve("readlink", name, false)
	if err != nil {
		return "", err
	}
	if e := f.files[p]; dir || e.Mode != ModeSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return f.readLink(p, f.files[p])
}

// ReadDir lists a directory, following links.
func (f *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, dir, err := f.resolve("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return slices.Clone(f.dirs[p]), nil
}

// dirEntry is an entry, or a directory, as fs.DirEntry and fs.FileInfo.
type dirEntry struct {
	name string
	dir  bool
	e    Entry
}

func (d dirEntry) Name() string { return d.name }
func (d dirEntry) IsDir() bool  { return d.dir }
func (d dirEntry) Type() fs.FileMode {
	return d.Mode().Type()
}
func (d dirEntry) Mode() fs.FileMode {
	switch {
	case d.dir:
		return fs.ModeDir | 0o555
	case d.e.Mode == ModeSymlink:
		return fs.ModeSymlink | 0o777
	case d.e.Mode == ModeExecutable:
		return 0o555
	}
	return 0o444
}
func (d dirEntry) Info() (fs.FileInfo, error) { return d, nil }
func (d dirEntry) Size() int64                { return d.e.Size }
func (d dirEntry) ModTime() time.Time         { return time.Time{} }
func (d dirEntry) Sys() any                   { return nil }

// treeFile is an open file or directory; a file's content is read at its
// first Read.
type treeFile struct {
	f   *treeFS
	p   string
	dir bool
	r   *bytes.Reader
	off int // directory entries already listed
}

func (t *treeFile) Stat() (fs.FileInfo, error) { return t.f.info(t.p, t.dir), nil }
func (t *treeFile) Close() error               { return nil }

func (t *treeFile) Read(b []byte) (int, error) {
	if t.dir {
		return 0, &fs.PathError{Op: "read", Path: t.p, Err: errors.New("is a directory")}
	}
	if t.r == nil {
		content, err := t.f.content(t.f.files[t.p])
		if err != nil {
			return 0, &fs.PathError{Op: "read", Path: t.p, Err: err}
		}
		t.r = bytes.NewReader(content)
	}
	return t.r.Read(b)
}

func (t *treeFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if !t.dir {
		return nil, &fs.PathError{Op: "readdir", Path: t.p, Err: errors.New("not a directory")}
	}
	rest := t.f.dirs[t.p][t.off:]
	if n > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if n > 0 && n < len(rest) {
		rest = rest[:n]
	}
	t.off += len(rest)
	return slices.Clone(rest), nil
}
