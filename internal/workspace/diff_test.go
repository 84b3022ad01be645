package workspace

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			root := k.make(t)
			writeFiles(t, root, map[string]string{
				"keep.go": "keep\n", "edit.go": "v1\n", "same_size.go": "aaaa\n", "gone.go": "bye\n",
				"script.sh": "echo\n", "dir/inner.go": "inner\n", "to_link.go": "becomes a link\n",
			})
			require.NoError(t, os.Symlink("keep.go", filepath.Join(root, "old_link")))
			require.NoError(t, os.Symlink("keep.go", filepath.Join(root, "retarget")))
			dst := materialize(t, takeSnapshot(t, root, "d1"))

			changes, err := Diff(dst)
			require.NoError(t, err)
			require.Empty(t, changes, "a fresh copy has no changes")

			writeFiles(t, dst, map[string]string{
				"edit.go": "v2 longer\n", "same_size.go": "bbbb\n", "new_test.go": "new\n",
			})
			require.NoError(t, os.Remove(filepath.Join(dst, "gone.go")))
			require.NoError(t, os.RemoveAll(filepath.Join(dst, "dir")))
			writeFiles(t, dst, map[string]string{"dir/sub/added.go": "added\n"})
			require.NoError(t, os.Chmod(filepath.Join(dst, "script.sh"), 0o755))
			require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dst, "evil")))
			require.NoError(t, os.Remove(filepath.Join(dst, "retarget")))
			require.NoError(t, os.Symlink("edit.go", filepath.Join(dst, "retarget")))
			require.NoError(t, os.Remove(filepath.Join(dst, "to_link.go")))
			require.NoError(t, os.Symlink("keep.go", filepath.Join(dst, "to_link.go")))
			require.NoError(t, syscall.Mkfifo(filepath.Join(dst, "fifo"), 0o644))

			changes, err = Diff(dst)
			require.NoError(t, err)
			require.Equal(t, []Change{
				{"dir/inner.go", Deleted},
				{"dir/sub/added.go", Added},
				{"edit.go", Modified},
				{"evil", Symlink},
				{"fifo", Special},
				{"gone.go", Deleted},
				{"new_test.go", Added},
				{"retarget", Symlink},
				{"same_size.go", Modified},
				{"script.sh", Modified},
				{"to_link.go", Symlink},
			}, changes)
		})
	}
}

func TestDiffNeedsManifest(t *testing.T) {
	t.Parallel()
	_, err := Diff(filepath.Join(newDir(t), "work"))
	require.ErrorContains(t, err, "manifest")
}
