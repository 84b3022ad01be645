package snapstore_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/snapstore"
)

// TestFS: a stored tree read as a file system, without materialising it,
// is the directory it was taken from: listings, stats, contents and
// symbolic links followed within it.
func TestFS(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *snapstore.Store) {
		ctx := context.Background()
		src := t.TempDir()
		for name, body := range map[string]string{"go.mod": "module m\n", "pkg/a.go": "package pkg\n", "pkg/sub/b.go": "package sub\n", "run.sh": "#!/bin/sh\n"} {
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(src, name), []byte(body), 0o644))
		}
		require.NoError(t, os.Chmod(filepath.Join(src, "run.sh"), 0o755))
		require.NoError(t, os.Symlink("pkg", filepath.Join(src, "alias")))
		require.NoError(t, os.Symlink("../go.mod", filepath.Join(src, "pkg/mod")))
		id, _, err := s.Put(ctx, &snapstore.Dir{Root: src})
		require.NoError(t, err)

		fsys, err := s.FS(ctx, id)
		require.NoError(t, err)
		require.NoError(t, fstest.TestFS(fsys, "go.mod", "pkg/a.go", "pkg/sub/b.go", "run.sh", "alias", "pkg/mod"))
		b, err := fs.ReadFile(fsys, "alias/sub/b.go")
		require.NoError(t, err)
		require.Equal(t, "package sub\n", string(b))
		b, err = fs.ReadFile(fsys, "pkg/mod")
		require.NoError(t, err)
		require.Equal(t, "module m\n", string(b))
		fi, err := fsys.Lstat("alias")
		require.NoError(t, err)
		require.Equal(t, fs.ModeSymlink, fi.Mode().Type())
		fi, err = fs.Stat(fsys, "alias")
		require.NoError(t, err)
		require.True(t, fi.IsDir())
		target, err := fsys.ReadLink("pkg/mod")
		require.NoError(t, err)
		require.Equal(t, "../go.mod", target)
		_, err = fs.Stat(fsys, "pkg/a.go/x")
		require.ErrorIs(t, err, fs.ErrNotExist)
		_, err = fs.Stat(fsys, "nope")
		require.ErrorIs(t, err, fs.ErrNotExist)

		_, err = s.FS(ctx, "0000000000000000000000000000000000000000000000000000000000000000")
		require.ErrorIs(t, err, snapstore.ErrNotFound)
	})
}
