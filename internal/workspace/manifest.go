package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Entry types in a manifest.
const (
	entryFile    = "file"
	entrySymlink = "symlink"
)

// manifestName is the manifest's file name, beside the materialised directory.
const manifestName = "manifest.json"

// manifest records every file Materialize wrote, for Diff.
type manifest struct {
	Version int                      `json:"version"`
	Files   map[string]manifestEntry `json:"files"` // slash-separated path relative to the directory
}

// manifestEntry is one file as materialised.
type manifestEntry struct {
	Type   string      `json:"type"`   // entryFile or entrySymlink
	Mode   fs.FileMode `json:"mode"`   // permission bits
	Size   int64       `json:"size"`   // bytes of content, or of the link target
	SHA256 string      `json:"sha256"` // of the content, or of the link target
}

func newManifest() *manifest {
	return &manifest{Version: 1, Files: map[string]manifestEntry{}}
}

// manifestPath is where the manifest of the directory dst lives: beside it,
// so nothing an agent does inside dst can change it.
func manifestPath(dst string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(dst)), manifestName)
}

func (m *manifest) write(dst string) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return writeFileAtomic(manifestPath(dst), data, 0o644)
}

func readManifest(dst string) (*manifest, error) {
	p := manifestPath(dst)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read the manifest %s written by Materialize (was %s materialised by handoff?): %w", p, dst, err)
	}
	m := newManifest()
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("manifest %s is damaged; materialise the snapshot again: %w", p, err)
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("manifest %s has version %d, this handoff reads version 1; materialise the snapshot again", p, m.Version)
	}
	return m, nil
}

// describe returns the manifest entry for the file at path as it is now.
// ok is false for anything that is neither a regular file nor a symlink.
func describe(path string, fi fs.FileInfo) (e manifestEntry, ok bool, err error) {
	switch {
	case fi.Mode().IsRegular():
		f, err := os.Open(path)
		if err != nil {
			return e, false, err
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			return e, false, fmt.Errorf("hash %s: %w", path, err)
		}
		return fileEntry(fi.Mode().Perm(), n, h), true, nil
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(path)
		if err != nil {
			return e, false, err
		}
		return linkEntry(target), true, nil
	default:
		return e, false, nil
	}
}

func fileEntry(perm fs.FileMode, size int64, h hash.Hash) manifestEntry {
	return manifestEntry{Type: entryFile, Mode: perm, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))}
}

func linkEntry(target string) manifestEntry {
	sum := sha256.Sum256([]byte(target))
	return manifestEntry{Type: entrySymlink, Mode: 0o777, Size: int64(len(target)), SHA256: hex.EncodeToString(sum[:])}
}

// hashTree records every regular file and symlink under dir.
func hashTree(ctx context.Context, dir string, m *manifest) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e, ok, err := describe(path, fi)
		if err != nil || !ok {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		m.Files[filepath.ToSlash(rel)] = e
		return nil
	})
}
