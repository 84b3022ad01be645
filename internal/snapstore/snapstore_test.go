package snapstore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/database"
	"github.com/handoff-dev/handoff/internal/snapstore"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// each runs f on a fresh, migrated SQLite database and on a fresh
// PostgreSQL schema.
func each(t *testing.T, f func(t *testing.T, s *snapstore.Store)) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			url := filepath.Join(t.TempDir(), "handoff.db")
			if kind == "postgres" {
				url = testenv.PostgresSchema(t)
			}
			db, err := database.Open(context.Background(), url, database.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			f(t, &snapstore.Store{DB: db.SQL, Postgres: db.Postgres})
		})
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.email=t@example.com", "-c", "user.name=t"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func headTree(t *testing.T, dir string) snapstore.GitTree {
	return snapstore.GitTree{Dir: dir, ID: git(t, dir, "rev-parse", "HEAD^{tree}")}
}

func count(t *testing.T, s *snapstore.Store, table string) int {
	t.Helper()
	var n int
	require.NoError(t, s.DB.QueryRow(`SELECT COUNT(*) FROM `+table).Scan(&n))
	return n
}

// A git tree goes into the database and comes out the same on another
// machine's directory: contents, the executable bit, symbolic links.
func TestGitTreeRoundTrip(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *snapstore.Store) {
		ctx := context.Background()
		ws := testenv.GitRepo(t, map[string]string{"go.mod": "module x\n", "pkg/a.go": "package pkg\n", "pkg/b.go": "package pkg\n\n// b\n",
			"same1.txt": "same\n", "same2.txt": "same\n", "run.sh": "#!/bin/sh\necho hi\n"})
		require.NoError(t, os.Chmod(filepath.Join(ws, "run.sh"), 0o755))
		require.NoError(t, os.Symlink("pkg/a.go", filepath.Join(ws, "link.go")))
		git(t, ws, "add", "-A")
		git(t, ws, "commit", "-qm", "more")

		id, st, err := s.Put(ctx, headTree(t, ws))
		require.NoError(t, err)
		require.Equal(t, 7, st.Files)
		require.Equal(t, 6, st.NewBlobs, "two files share one content")

		dst := filepath.Join(t.TempDir(), "task")
		tree, err := s.Materialize(ctx, id, dst)
		require.NoError(t, err)
		require.Len(t, tree.Entries, 7)
		for _, f := range []string{"go.mod", "pkg/a.go", "pkg/b.go", "same1.txt", "same2.txt", "run.sh"} {
			want, err := os.ReadFile(filepath.Join(ws, f))
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(dst, f))
			require.NoError(t, err)
			require.Equal(t, string(want), string(got), f)
		}
		fi, err := os.Stat(filepath.Join(dst, "run.sh"))
		require.NoError(t, err)
		require.NotZero(t, fi.Mode().Perm()&0o100, "run.sh stays executable")
		target, err := os.Readlink(filepath.Join(dst, "link.go"))
		require.NoError(t, err)
		require.Equal(t, "pkg/a.go", target)

		again, st, err := s.Put(ctx, headTree(t, ws))
		require.NoError(t, err)
		require.Equal(t, id, again, "the same tree has the same ID")
		require.Zero(t, st.NewBlobs)
		require.True(t, st.Reused, "a git tree stored before is found by its ID, not listed again")
		require.Equal(t, 7, st.Files)

		// The same files from a directory: the same tree, found by content.
		fromDir, st, err := s.Put(ctx, &snapstore.Dir{Root: ws, Skip: func(p string) bool { return p == ".git" }})
		require.NoError(t, err)
		require.Equal(t, id, fromDir)
		require.False(t, st.Reused)
		require.Zero(t, st.NewBlobs)
	})
}

// Two submits of a 1,000-file workspace differing in one file store one
// new blob for the second.
func TestSecondSnapshotStoresOnlyTheChange(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *snapstore.Store) {
		ctx := context.Background()
		files := map[string]string{}
		for i := range 1000 {
			files[fmt.Sprintf("d%02d/f%03d.go", i%40, i)] = fmt.Sprintf("package d\n\nconst C%d = %d\n", i, i)
		}
		ws := testenv.GitRepo(t, files)
		first, st, err := s.Put(ctx, headTree(t, ws))
		require.NoError(t, err)
		require.Equal(t, 1000, st.NewBlobs)

		require.NoError(t, os.WriteFile(filepath.Join(ws, "d07/f007.go"), []byte("package d\n\nconst C7 = 70\n"), 0o644))
		git(t, ws, "commit", "-qam", "one change")
		second, st, err := s.Put(ctx, headTree(t, ws))
		require.NoError(t, err)
		require.NotEqual(t, first, second)
		require.Equal(t, 1, st.NewBlobs, "only the changed file's content is new")
		require.Equal(t, 1001, count(t, s, "handoff_blob"))
		require.Equal(t, 2, count(t, s, "handoff_tree"))
	})
}

// A folder outside git is stored the same way, leaving out what Skip says.
func TestDirRoundTrip(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *snapstore.Store) {
		ctx := context.Background()
		src := t.TempDir()
		for name, body := range map[string]string{"a.py": "x = 1\n", "tests/test_a.py": "def test(): pass\n", ".handoff/handoff.db": "state"} {
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(src, name), []byte(body), 0o644))
		}
		id, st, err := s.Put(ctx, &snapstore.Dir{Root: src, Skip: func(p string) bool { return p == ".handoff" }})
		require.NoError(t, err)
		require.Equal(t, 2, st.Files)
		dst := t.TempDir()
		_, err = s.Materialize(ctx, id, dst)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(dst, "tests/test_a.py"))
		require.NoError(t, err)
		require.Equal(t, "def test(): pass\n", string(got))
		require.NoFileExists(t, filepath.Join(dst, ".handoff/handoff.db"))
	})
}

// source is a snapshot given as data: what a client on another machine
// could upload, honest or not.
type source struct {
	entries []snapstore.Entry
	content map[string]string // blob ID → what Read returns
}

func (f source) Tree(context.Context) (snapstore.Tree, error) {
	return snapstore.Tree{Entries: f.entries}, nil
}

func (f source) Read(_ context.Context, ids []string, fn func(string, []byte) error) error {
	for _, id := range ids {
		if err := fn(id, []byte(f.content[id])); err != nil {
			return err
		}
	}
	return nil
}

func file(path, content string) (snapstore.Entry, string) {
	id := snapstore.BlobID([]byte(content))
	return snapstore.Entry{Path: path, Mode: snapstore.ModeFile, ID: id, Size: int64(len(content))}, id
}

// A blob whose content does not match its ID is refused, on the way in
// and on the way out, and a refused Put stores nothing.
func TestCorruptBlobsAreRefused(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *snapstore.Store) {
		ctx := context.Background()
		e, id := file("a.go", "package a\n")
		_, _, err := s.Put(ctx, source{entries: []snapstore.Entry{e}, content: map[string]string{id: "package evil\n"}})
		require.ErrorIs(t, err, snapstore.ErrCorrupt)
		require.Contains(t, err.Error(), "a.go")
		require.Zero(t, count(t, s, "handoff_blob"))
		require.Zero(t, count(t, s, "handoff_tree"))

		tree, _, err := s.Put(ctx, source{entries: []snapstore.Entry{e}, content: map[string]string{id: "package a\n"}})
		require.NoError(t, err)
		// Damage the stored blob: a valid compressed stream of other bytes.
		other, _, err := s.Put(ctx, source{entries: []snapstore.Entry{func() snapstore.Entry { e, _ := file("b.go", "package b\n"); return e }()},
			content: map[string]string{snapstore.BlobID([]byte("package b\n")): "package b\n"}})
		require.NoError(t, err)
		require.NotEqual(t, tree, other)
		_, err = s.DB.Exec(`UPDATE handoff_blob SET data = (SELECT data FROM handoff_blob WHERE id = $1) WHERE id = $2`,
			snapstore.BlobID([]byte("package b\n")), id)
		require.NoError(t, err)
		dst := t.TempDir()
		_, err = s.Materialize(ctx, tree, dst)
		require.ErrorIs(t, err, snapstore.ErrCorrupt)
		require.NoFileExists(t, filepath.Join(dst, "a.go"))
	})
}

// A snapshot over a limit is refused with the limit and how to raise it,
// and stores nothing.
func TestLimits(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *snapstore.Store) {
		ctx := context.Background()
		big, bigID := file("data/big.bin", strings.Repeat("x", 2000))
		small, smallID := file("a.go", "package a\n")
		src := source{entries: []snapstore.Entry{big, small}, content: map[string]string{bigID: strings.Repeat("x", 2000), smallID: "package a\n"}}

		s.Limits = snapstore.Limits{MaxFile: 1000}
		_, _, err := s.Put(ctx, src)
		require.ErrorIs(t, err, snapstore.ErrTooLarge)
		require.Contains(t, err.Error(), "data/big.bin")
		require.Contains(t, err.Error(), "HANDOFF_SNAPSHOT_MAX_FILE")

		s.Limits = snapstore.Limits{MaxTotal: 1500}
		_, _, err = s.Put(ctx, src)
		require.ErrorIs(t, err, snapstore.ErrTooLarge)
		require.Contains(t, err.Error(), "HANDOFF_SNAPSHOT_MAX_TOTAL")
		require.Zero(t, count(t, s, "handoff_blob"))
		require.Zero(t, count(t, s, "handoff_tree"))
	})
}

// A stored tree naming a path outside the task directory is refused before
// anything is written.
func TestMaterializeStaysInside(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *snapstore.Store) {
		ctx := context.Background()
		for _, p := range []string{"../escape.go", "/etc/escape.go", "a/../../escape.go"} {
			e, id := file(p, "package x\n")
			tree, _, err := s.Put(ctx, source{entries: []snapstore.Entry{e}, content: map[string]string{id: "package x\n"}})
			require.NoError(t, err)
			parent := t.TempDir()
			_, err = s.Materialize(ctx, tree, filepath.Join(parent, "task"))
			require.ErrorIs(t, err, snapstore.ErrCorrupt, p)
			require.NoFileExists(t, filepath.Join(parent, "escape.go"))
		}
	})
}

// Prune keeps the trees it is told to and every blob they name (shared
// ones too), and removes the rest.
func TestPrune(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *snapstore.Store) {
		ctx := context.Background()
		shared, sharedID := file("shared.go", "package s\n")
		a, aID := file("a.go", "package a\n")
		b, bID := file("b.go", "package b\n")
		content := map[string]string{sharedID: "package s\n", aID: "package a\n", bID: "package b\n"}
		keep, _, err := s.Put(ctx, source{entries: []snapstore.Entry{shared, a}, content: content})
		require.NoError(t, err)
		drop, _, err := s.Put(ctx, source{entries: []snapstore.Entry{shared, b}, content: content})
		require.NoError(t, err)

		st, err := s.Prune(ctx, []string{keep}, time.Now().Add(-time.Hour))
		require.NoError(t, err)
		require.Zero(t, st, "a tree stored within the hour may belong to a task being submitted")

		st, err = s.Prune(ctx, []string{keep}, time.Now().Add(time.Second))
		require.NoError(t, err)
		require.Equal(t, snapstore.PruneStats{Trees: 1, Blobs: 1, Bytes: int64(len("package b\n"))}, st)
		_, err = s.Tree(ctx, drop)
		require.ErrorIs(t, err, snapstore.ErrNotFound)
		_, err = s.Materialize(ctx, keep, t.TempDir())
		require.NoError(t, err, "the kept tree is whole")
	})
}
