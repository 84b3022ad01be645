package snapstore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// GitTree is a Source for a tree object in a git repository: its entries
// come from `git ls-tree` with the IDs git already holds, and contents
// from one `git cat-file --batch`. Submodules (commit entries) carry no
// content and are left out.
type GitTree struct {
	Dir string // a directory in the repository
	ID  string // the tree object's ID
}

// Tree lists the tree's files, recursively.
func (g GitTree) Tree(ctx context.Context) (Tree, error) {
	// Without --long: sizes cost git a read of every object; Put learns
	// them from the database, or from the contents it reads.
	out, err := g.git(ctx, nil, "ls-tree", "-r", "-z", "--full-tree", g.ID)
	if err != nil {
		return Tree{}, err
	}
	var t Tree
	for rec := range bytes.SplitSeq(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		// <mode> SP <type> SP <object> TAB <path>
		meta, path, ok := bytes.Cut(rec, []byte{'\t'})
		f := strings.Fields(string(meta))
		if !ok || len(f) != 3 {
			return Tree{}, fmt.Errorf("git ls-tree printed %q, which handoff cannot read", rec)
		}
		if f[1] != "blob" {
			continue // a submodule's commit
		}
		mode := f[0]
		if mode != ModeExecutable && mode != ModeSymlink {
			mode = ModeFile
		}
		t.Entries = append(t.Entries, Entry{Path: string(path), Mode: mode, ID: f[2]})
	}
	return t, nil
}

// SourceID names the git tree: the same tree ID is the same snapshot.
func (g GitTree) SourceID() string { return "git:" + g.ID }

// Read streams the blobs' contents from `git cat-file --batch`.
func (g GitTree) Read(ctx context.Context, ids []string, fn func(id string, content []byte) error) error {
	cmd := exec.CommandContext(ctx, "git", "-C", g.Dir, "cat-file", "--batch")
	cmd.Stdin = strings.NewReader(strings.Join(ids, "\n") + "\n")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git cat-file: %w", err)
	}
	r := bufio.NewReader(stdout)
	readErr := func() error {
		for range ids {
			header, err := r.ReadString('\n')
			if err != nil {
				return fmt.Errorf("git cat-file: %w", err)
			}
			f := strings.Fields(header)
			if len(f) != 3 || f[1] != "blob" {
				return fmt.Errorf("git cat-file: %s", strings.TrimSpace(header))
			}
			size, err := strconv.Atoi(f[2])
			if err != nil {
				return fmt.Errorf("git cat-file: %s", strings.TrimSpace(header))
			}
			content := make([]byte, size+1) // and the newline after it
			if _, err := io.ReadFull(r, content); err != nil {
				return fmt.Errorf("git cat-file: %w", err)
			}
			if err := fn(f[0], content[:size]); err != nil {
				return err
			}
		}
		return nil
	}()
	if readErr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return readErr
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git cat-file: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func (g GitTree) git(ctx context.Context, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.Dir}, args...)...)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Dir is a Source for a directory's files (a workspace outside git, or a
// snapshot copy). Symbolic links are stored as links; other special files
// are left out.
type Dir struct {
	Root string
	// Skip leaves out a slash-separated path (a file or a whole folder).
	Skip func(path string) bool

	paths map[string]string // blob ID → a path holding it, after Tree
}

// Tree walks the directory, hashing every file.
func (d *Dir) Tree(ctx context.Context) (Tree, error) {
	d.paths = map[string]string{}
	var t Tree
	err := filepath.WalkDir(d.Root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, err := filepath.Rel(d.Root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.Skip != nil && d.Skip(rel) {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		var content []byte
		mode := ModeFile
		switch {
		case de.IsDir():
			return nil
		case de.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			content, mode = []byte(target), ModeSymlink
		case de.Type().IsRegular():
			if content, err = os.ReadFile(p); err != nil {
				return err
			}
			if fi, err := de.Info(); err == nil && fi.Mode().Perm()&0o111 != 0 {
				mode = ModeExecutable
			}
		default:
			return nil // a device, socket or pipe
		}
		id := BlobID(content)
		d.paths[id] = p
		t.Entries = append(t.Entries, Entry{Path: rel, Mode: mode, ID: id, Size: int64(len(content))})
		return nil
	})
	return t, err
}

// Read reads the blobs' contents from the files Tree found them in.
func (d *Dir) Read(ctx context.Context, ids []string, fn func(id string, content []byte) error) error {
	for _, id := range ids {
		p, ok := d.paths[id]
		if !ok {
			return fmt.Errorf("blob %s is not in %s", id, d.Root)
		}
		var content []byte
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			content = []byte(target)
		} else if content, err = os.ReadFile(p); err != nil {
			return err
		}
		if err := fn(id, content); err != nil {
			return err
		}
	}
	return nil
}
