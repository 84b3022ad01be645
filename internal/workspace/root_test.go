package workspace

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRoot(t *testing.T) {
	t.Parallel()
	repo := newRepo(t)
	writeFiles(t, repo, map[string]string{"a/b/c.go": "package b\n"})
	plain := newDir(t)
	writeFiles(t, plain, map[string]string{"sub/x.py": "x = 1\n"})
	links := newDir(t)
	require.NoError(t, os.Symlink(filepath.Join(repo, "a"), filepath.Join(links, "to-repo")))

	for _, tc := range []struct{ name, dir, want string }{
		{"git top", repo, repo},
		{"git subdirectory", filepath.Join(repo, "a", "b"), repo},
		{"plain directory", plain, plain},
		{"plain subdirectory", filepath.Join(plain, "sub"), filepath.Join(plain, "sub")},
		{"through a symlink", filepath.Join(links, "to-repo"), repo},
	} {
		got, err := Root(tc.dir)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, got, tc.name)
	}

	_, err := Root(filepath.Join(plain, "missing"))
	require.ErrorContains(t, err, "does not exist")
	_, err = Root(filepath.Join(plain, "sub", "x.py"))
	require.ErrorContains(t, err, "not a directory")
}

func TestRootIgnoresEmptyDotGit(t *testing.T) {
	t.Parallel()
	dir := newDir(t)
	require.NoError(t, os.Mkdir(filepath.Join(dir, ".git"), 0o755))
	got, err := Root(dir)
	require.NoError(t, err)
	require.Equal(t, dir, got)
	_, isGit := gitDir(dir)
	require.False(t, isGit, "a .git without HEAD is not a repository")
}
