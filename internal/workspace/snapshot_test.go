package workspace

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			root := k.make(t)
			writeFiles(t, root, map[string]string{"pkg/a.go": "package pkg\n"})
			require.NoError(t, os.Symlink("pkg/a.go", filepath.Join(root, "link")))
			snap := takeSnapshot(t, root, "read")
			writeFiles(t, root, map[string]string{"pkg/a.go": "changed later\n", "later.go": "x"})

			data, ok, err := snap.ReadFile(ctx, "pkg/a.go")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, "package pkg\n", string(data))

			data, ok, err = snap.ReadFile(ctx, "link")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, "pkg/a.go", string(data), "a symlink reads as its target")

			for _, missing := range []string{"later.go", "pkg/none.go", "link/a.go", "README/x"} {
				_, ok, err = snap.ReadFile(ctx, missing)
				require.NoError(t, err, missing)
				require.False(t, ok, missing)
			}
			_, _, err = snap.ReadFile(ctx, "../x")
			require.ErrorIs(t, err, ErrOutsideWorkspace)
			_, _, err = snap.ReadFile(ctx, "pkg")
			require.ErrorContains(t, err, "not a file")
		})
	}
}

func TestChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			root := k.make(t)
			writeFiles(t, root, map[string]string{"same.go": "s\n", "edit.go": "e1\n", "del.go": "d\n", "touched.go": "t\n"})
			require.NoError(t, os.Symlink("same.go", filepath.Join(root, "link")))
			snap := takeSnapshot(t, root, "changed")

			writeFiles(t, root, map[string]string{"edit.go": "e2\n", "new.go": "n\n", "touched.go": "t\n"})
			require.NoError(t, os.Remove(filepath.Join(root, "del.go")))
			for rel, want := range map[string]bool{
				"same.go": false, "touched.go": false, "link": false, "never.go": false,
				"edit.go": true, "new.go": true, "del.go": true,
			} {
				got, err := snap.Changed(ctx, rel)
				require.NoError(t, err, rel)
				require.Equal(t, want, got, rel)
			}
			among, err := snap.ChangedAmong(ctx, []string{"same.go", "./edit.go", "touched.go", "new.go", "never.go", "del.go", "link"})
			require.NoError(t, err)
			require.Equal(t, []string{"edit.go", "new.go", "del.go"}, among, "all at once, resolved, in the order asked")
			_, err = snap.ChangedAmong(ctx, []string{"same.go", "../outside.go"})
			require.ErrorIs(t, err, ErrOutsideWorkspace)
			require.NoError(t, os.Remove(filepath.Join(root, "link")))
			require.NoError(t, os.Symlink("edit.go", filepath.Join(root, "link")))
			got, err := snap.Changed(ctx, "link")
			require.NoError(t, err)
			require.True(t, got, "a retargeted symlink changed")
		})
	}
}

func TestRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			root := k.make(t)
			writeFiles(t, root, map[string]string{"a.go": "a\n", "d/b.go": "b\n", "run.sh": "echo\n"})
			require.NoError(t, os.Chmod(filepath.Join(root, "run.sh"), 0o755))
			require.NoError(t, os.Symlink("a.go", filepath.Join(root, "link")))
			snap := takeSnapshot(t, root, "restore")
			dst := materialize(t, snap)
			outside := newDir(t)

			writeFiles(t, dst, map[string]string{"a.go": "edited\n", "new/x_test.go": "new\n"})
			require.NoError(t, os.RemoveAll(filepath.Join(dst, "d")))
			require.NoError(t, os.Remove(filepath.Join(dst, "run.sh")))
			require.NoError(t, os.Remove(filepath.Join(dst, "link")))
			require.NoError(t, os.Symlink(outside, filepath.Join(dst, "link")))
			require.NoError(t, os.Mkdir(filepath.Join(dst, "esc"), 0o755))
			require.NoError(t, os.Remove(filepath.Join(dst, "esc")))
			require.NoError(t, os.Symlink(outside, filepath.Join(dst, "esc")))

			for _, rel := range []string{"a.go", "d/b.go", "run.sh", "link", "new/x_test.go", "esc"} {
				require.NoError(t, snap.Restore(ctx, dst, rel), rel)
			}
			changes, err := Diff(dst)
			require.NoError(t, err)
			require.Empty(t, changes)
			require.Empty(t, readTree(t, outside))

			require.NoError(t, os.Symlink(outside, filepath.Join(dst, "esc")))
			err = snap.Restore(ctx, dst, "esc/evil.go")
			require.ErrorIs(t, err, ErrOutsideWorkspace, "restore never writes through a link out of dst")
			require.Empty(t, readTree(t, outside))
		})
	}
}

func TestRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			root := k.make(t)
			snap, err := Take(ctx, root, "rel")
			require.NoError(t, err)
			other := takeSnapshot(t, root, "other")
			require.NoError(t, snap.Release(ctx))
			require.NoError(t, snap.Release(ctx), "releasing twice is fine")
			if k.name == KindGit {
				require.NotContains(t, runGit(t, root, "for-each-ref", "refs/handoff/"), "refs/handoff/rel")
				require.Contains(t, runGit(t, root, "for-each-ref", "refs/handoff/"), "refs/handoff/other")
			} else {
				require.NoDirExists(t, snap.Ref)
				require.DirExists(t, other.Ref)
			}
			data, ok, err := other.ReadFile(ctx, "README")
			require.NoError(t, err)
			require.True(t, ok, "releasing one snapshot leaves the others")
			require.Equal(t, "readme\n", string(data))
		})
	}
}

func TestCopySnapshotRefusesDamagedRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := kinds[1].make(t)
	victim := newDir(t)
	writeFiles(t, victim, map[string]string{"precious": "keep me"})
	snap := takeSnapshot(t, root, "ok")
	snap.Ref = victim
	require.ErrorContains(t, snap.Release(ctx), "damaged")
	require.FileExists(t, filepath.Join(victim, "precious"))
	_, _, err := snap.ReadFile(ctx, "precious")
	require.ErrorContains(t, err, "damaged")
}

func TestSnapshotJSONRoundTrip(t *testing.T) {
	t.Parallel()
	root := kinds[0].make(t)
	snap := takeSnapshot(t, root, "json")
	data, err := json.Marshal(snap)
	require.NoError(t, err)
	var back Snapshot
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, snap, back)
	got, ok, err := back.ReadFile(context.Background(), "README")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "readme\n", string(got))
}

func TestEnsureStateDir(t *testing.T) {
	t.Parallel()
	root := newDir(t)
	dir, err := EnsureStateDir(root)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(root, ".handoff"), dir)
	data, err := os.ReadFile(filepath.Join(dir, ".gitignore"))
	require.NoError(t, err)
	require.Contains(t, string(data), "\n*\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("custom\n"), 0o644))
	_, err = EnsureStateDir(root)
	require.NoError(t, err)
	data, err = os.ReadFile(filepath.Join(dir, ".gitignore"))
	require.NoError(t, err)
	require.Equal(t, "custom\n", string(data), "an existing .gitignore is left alone")
}

func TestFilesIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			root := k.make(t)
			writeFiles(t, root, map[string]string{"pkg/a.go": "a\n", "pkg/b.go": "b\n", "pkg/sub/c.go": "c\n", "top.go": "t\n"})
			require.NoError(t, os.Symlink("a.go", filepath.Join(root, "pkg", "link.go")))
			snap := takeSnapshot(t, root, "files-in")
			require.NoError(t, os.Remove(filepath.Join(root, "pkg", "b.go")))
			writeFiles(t, root, map[string]string{"pkg/new.go": "n\n"})

			got, err := snap.FilesIn(ctx, "pkg")
			require.NoError(t, err)
			require.Equal(t, []string{"pkg/a.go", "pkg/b.go", "pkg/link.go"}, got, "what the snapshot held, not what is there now; no subdirectories")
			got, err = snap.FilesIn(ctx, "./pkg/sub")
			require.NoError(t, err)
			require.Equal(t, []string{"pkg/sub/c.go"}, got)
			got, err = snap.FilesIn(ctx, ".")
			require.NoError(t, err)
			require.Contains(t, got, "top.go")
			require.NotContains(t, got, "pkg/a.go")
			got, err = snap.FilesIn(ctx, "nowhere")
			require.NoError(t, err)
			require.Empty(t, got)
			_, err = snap.FilesIn(ctx, "../elsewhere")
			require.ErrorIs(t, err, ErrOutsideWorkspace)
		})
	}
}
