//go:build linux || darwin

package workspace

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// fileStamp is what the file system says about a file without reading it.
type fileStamp struct {
	dev, ino     uint64
	mtime, ctime int64 // nanoseconds
}

func stampOf(st *unix.Stat_t) fileStamp {
	return fileStamp{dev: uint64(st.Dev), ino: st.Ino, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
}

// newest is the later of the file's modification and change times.
func (s fileStamp) newest() int64 { return max(s.mtime, s.ctime) }

// device is the file system the file is on.
func (s fileStamp) device() uint64 { return s.dev }

// identity is the file's device and inode: a file replaced by rename has
// another.
func (s fileStamp) identity() [2]uint64 { return [2]uint64{s.dev, s.ino} }

// statFile stamps path, following symlinks as git does for the files it
// reads; ok is false when there is no such file.
func statFile(path string) (s fileStamp, ok bool, err error) {
	var st unix.Stat_t
	err = unix.Stat(path, &st)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return fileStamp{}, false, nil
	}
	if err != nil {
		return fileStamp{}, false, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return stampOf(&st), true, nil
}

// rootDev is the device of the file system root is on.
func rootDev(root string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Lstat(root, &st); err != nil {
		return 0, &fs.PathError{Op: "lstat", Path: root, Err: err}
	}
	return uint64(st.Dev), nil
}

// findNewer looks for an entry of the work tree at root (root included,
// root's own .git and .handoff left out) written at or after marker: a
// file's content or mode, or a directory's list of entries. It looks in the
// directories of hot first (relative to root, "" for root), then everywhere,
// and returns the directory where it found one. It stops with
// errNotStampable at a nested repository (its commit lives outside the work
// tree), at an entry on another file system, or past limit entries.
func findNewer(root string, marker int64, limit int, hot []string) (dir string, found bool, err error) {
	var st unix.Stat_t
	if err := unix.Lstat(root, &st); err != nil {
		return "", false, &fs.PathError{Op: "lstat", Path: root, Err: err}
	}
	if stampOf(&st).newest() >= marker {
		return "", true, nil
	}
	dev := uint64(st.Dev)
	entries := 0
	// scan looks at the entries of the directory rel; newer is the
	// directory to report when one is new.
	scan := func(rel string) (subdirs []string, newer string, found bool, err error) {
		full := filepath.Join(root, rel)
		f, err := os.Open(full)
		if err != nil {
			return nil, "", false, err
		}
		defer f.Close()
		names, err := f.Readdirnames(-1)
		if err != nil {
			return nil, "", false, err
		}
		fd := int(f.Fd())
		for _, name := range names {
			if rel == "" && (name == ".git" || name == StateDirName) {
				continue
			}
			if name == ".git" {
				return nil, "", false, errNotStampable
			}
			if entries++; entries > limit {
				return nil, "", false, errNotStampable
			}
			if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return nil, "", false, &fs.PathError{Op: "lstat", Path: filepath.Join(full, name), Err: err}
			}
			s := stampOf(&st)
			isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
			switch {
			case s.dev != dev:
				return nil, "", false, errNotStampable
			case s.newest() >= marker && isDir:
				return nil, path.Join(rel, name), true, nil // its entries changed
			case s.newest() >= marker:
				return nil, rel, true, nil
			case isDir:
				subdirs = append(subdirs, path.Join(rel, name))
			}
		}
		return subdirs, "", false, nil
	}
	for _, rel := range hot {
		// A hot directory that is gone shows in its parent's time.
		if _, newer, found, err := scan(rel); err == nil && found {
			return newer, true, nil
		}
	}
	entries = 0
	dirs := []string{""}
	for len(dirs) > 0 {
		rel := dirs[len(dirs)-1]
		dirs = dirs[:len(dirs)-1]
		subdirs, newer, found, err := scan(rel)
		if err != nil || found {
			return newer, found, err
		}
		dirs = append(dirs, subdirs...)
	}
	return "", false, nil
}

// stampsSupported: this platform has ctimes and inode numbers.
const stampsSupported = true
