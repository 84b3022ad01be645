package workspace

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestApply(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			root := k.make(t)
			writeFiles(t, root, map[string]string{
				"pkg/a_test.go": "old test\n", "pkg/edited_test.go": "v1\n", "pkg/deleted_test.go": "v1\n",
			})
			require.NoError(t, os.Chmod(filepath.Join(root, "pkg", "a_test.go"), 0o600))
			snap := takeSnapshot(t, root, "apply-1")

			writeFiles(t, root, map[string]string{"pkg/edited_test.go": "v2 by the user\n", "pkg/created_test.go": "user's own\n"})
			require.NoError(t, os.Remove(filepath.Join(root, "pkg", "deleted_test.go")))

			res, err := snap.Apply(ctx, map[string][]byte{
				"pkg/a_test.go":           []byte("new test\n"),
				"pkg/edited_test.go":      []byte("generated\n"),
				"pkg/created_test.go":     []byte("generated\n"),
				"pkg/deleted_test.go":     []byte("generated\n"),
				"./new/deep/x_test.go":    []byte("nested\n"),
				root + "/pkg/abs_test.go": []byte("absolute\n"),
			})
			require.NoError(t, err)
			require.Equal(t, []string{"new/deep/x_test.go", "pkg/a_test.go", "pkg/abs_test.go"}, res.Written)
			require.Len(t, res.Skipped, 3)
			require.Equal(t, "pkg/created_test.go", res.Skipped[0].Path)
			require.Contains(t, res.Skipped[0].Reason, "created in the workspace")
			require.Equal(t, "pkg/deleted_test.go", res.Skipped[1].Path)
			require.Contains(t, res.Skipped[1].Reason, "deleted from the workspace")
			require.Equal(t, "pkg/edited_test.go", res.Skipped[2].Path)
			require.Contains(t, res.Skipped[2].Reason, "changed in the workspace")

			files := readTree(t, root)
			require.Equal(t, "new test\n", files["pkg/a_test.go"])
			require.Equal(t, "nested\n", files["new/deep/x_test.go"])
			require.Equal(t, "absolute\n", files["pkg/abs_test.go"])
			require.Equal(t, "v2 by the user\n", files["pkg/edited_test.go"])
			require.Equal(t, "user's own\n", files["pkg/created_test.go"])
			require.NotContains(t, files, "pkg/deleted_test.go")
			fi, err := os.Stat(filepath.Join(root, "pkg", "a_test.go"))
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "an overwritten file keeps its mode")
			entries, err := os.ReadDir(filepath.Join(root, "pkg"))
			require.NoError(t, err)
			for _, e := range entries {
				require.NotContains(t, e.Name(), ".handoff-", "no temporary file is left behind")
			}
		})
	}
}

func TestApplyRefusesEscapesAndWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			root := k.make(t)
			outside := newDir(t)
			require.NoError(t, os.Symlink(outside, filepath.Join(root, "out")))
			snap := takeSnapshot(t, root, "apply-2")
			for _, bad := range []string{"../evil_test.go", "/etc/evil_test.go", "out/evil_test.go", ".git/hooks/pre-commit", ".handoff/handoff.db", "sub/.git/config"} {
				res, err := snap.Apply(ctx, map[string][]byte{"ok_test.go": []byte("fine\n"), bad: []byte("evil\n")})
				require.ErrorIs(t, err, ErrOutsideWorkspace, bad)
				require.Empty(t, res.Written, bad)
				require.NoFileExists(t, filepath.Join(root, "ok_test.go"), "nothing is written when one path is refused (%s)", bad)
			}
			require.Empty(t, readTree(t, outside))
		})
	}
}

func TestApplyDuplicatePaths(t *testing.T) {
	t.Parallel()
	root := kinds[1].make(t)
	snap := takeSnapshot(t, root, "dup")
	_, err := snap.Apply(context.Background(), map[string][]byte{"a/b.go": []byte("1"), "a//b.go": []byte("2")})
	require.ErrorContains(t, err, "give each file once")
	require.NoFileExists(t, filepath.Join(root, "a", "b.go"))
}

// The moment between Apply's check and its write: a file the user creates
// there is never replaced, and an existing file edited there is left as the
// user made it. Both are driven here by giving the write what the check saw
// before the user acted.
func TestApplyWriteDoesNotReplaceWhatChangedAfterTheCheck(t *testing.T) {
	t.Parallel()
	root := newDir(t)

	// New file: the check saw no file; the user creates one before the write.
	writeFiles(t, root, map[string]string{"pkg/new_test.go": "the user's own\n"})
	err := writeWorkspaceFile(root, "pkg/new_test.go", []byte("generated\n"), nil)
	require.ErrorIs(t, err, errAppeared)
	require.Equal(t, "the user's own\n", readTree(t, root)["pkg/new_test.go"])

	// Existing file: the check saw one version; the user saves another.
	writeFiles(t, root, map[string]string{"pkg/old_test.go": "v1\n"})
	checked, err := os.Lstat(filepath.Join(root, "pkg/old_test.go"))
	require.NoError(t, err)
	writeFiles(t, root, map[string]string{"pkg/old_test.go": "v2, saved by the user\n"})
	err = writeWorkspaceFile(root, "pkg/old_test.go", []byte("generated\n"), checked)
	require.ErrorIs(t, err, errChangedMeanwhile)
	require.Equal(t, "v2, saved by the user\n", readTree(t, root)["pkg/old_test.go"])

	// Unchanged since the check: written, keeping its permission bits.
	require.NoError(t, os.Chmod(filepath.Join(root, "pkg/old_test.go"), 0o600))
	checked, err = os.Lstat(filepath.Join(root, "pkg/old_test.go"))
	require.NoError(t, err)
	require.NoError(t, writeWorkspaceFile(root, "pkg/old_test.go", []byte("generated\n"), checked))
	require.Equal(t, "generated\n", readTree(t, root)["pkg/old_test.go"])
	fi, err := os.Stat(filepath.Join(root, "pkg/old_test.go"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// No file, none created meanwhile: created.
	require.NoError(t, writeWorkspaceFile(root, "pkg/fresh_test.go", []byte("generated\n"), nil))
	require.Equal(t, "generated\n", readTree(t, root)["pkg/fresh_test.go"])

	entries, err := os.ReadDir(filepath.Join(root, "pkg"))
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), ".handoff-", "no temporary file is left behind")
	}
}
