package workspace

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// copyTree copies the directories, regular files (with their permission bits)
// and symlinks under src into the existing directory dst. Other file types
// (sockets, pipes, devices) are left out. skip, when not nil, leaves out a
// slash-separated relative path and everything below it. When m is not nil
// every file copied is recorded in it, hashed while it is copied.
func copyTree(ctx context.Context, src, dst string, skip func(rel string) bool, m *manifest) error {
	return mirrorTree(ctx, src, dst, skip, func(path, target, rel string, perm fs.FileMode) error {
		if m == nil {
			return copyFile(path, target, perm)
		}
		e, err := copyFileHashed(path, target, perm)
		if err != nil {
			return err
		}
		m.Files[rel] = e
		return nil
	}, func(rel, link string) {
		if m != nil {
			m.Files[rel] = linkEntry(link)
		}
	})
}

// linkTree fills the existing directory dst with the tree under src, its
// regular files hard-linked rather than copied: the snapshots of one batch
// share their files (nothing ever writes to a snapshot). A file that cannot
// be linked (a file system without hard links) is copied.
func linkTree(ctx context.Context, src, dst string) error {
	return mirrorTree(ctx, src, dst, nil, func(path, target, _ string, perm fs.FileMode) error {
		if err := os.Link(path, target); err != nil {
			return copyFile(path, target, perm)
		}
		return nil
	}, nil)
}

// mirrorTree recreates the directories and symlinks under src in the
// existing directory dst and hands every regular file to place, with its
// target path, slash-separated relative path and permission bits (owner
// read-write added). Other file types are left out; skip, when not nil,
// leaves out a relative path and everything below it; linked, when not nil,
// hears of every symlink made.
func mirrorTree(ctx context.Context, src, dst string, skip func(rel string) bool,
	place func(path, target, rel string, perm fs.FileMode) error, linked func(rel, link string)) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil || rel == "." {
			return err
		}
		slashRel := filepath.ToSlash(rel)
		if skip != nil && skip(slashRel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.Mkdir(target, 0o755)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return place(path, target, slashRel, fi.Mode().Perm()|0o600)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
			if linked != nil {
				linked(slashRel, link)
			}
			return nil
		default:
			return nil
		}
	})
}

// copyFile copies one regular file; io.Copy between files lets the kernel
// copy (copy_file_range, reflinks where the file system has them).
func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// copyFileHashed copies one regular file and returns its manifest entry.
func copyFileHashed(src, dst string, perm fs.FileMode) (manifestEntry, error) {
	in, err := os.Open(src)
	if err != nil {
		return manifestEntry{}, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return manifestEntry{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if err != nil {
		out.Close()
		return manifestEntry{}, fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return manifestEntry{}, err
	}
	return fileEntry(perm, n, h), nil
}
