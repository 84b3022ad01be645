package workspace

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	root := newDir(t)
	outside := newDir(t)
	writeFiles(t, root, map[string]string{"pkg/a.go": "package pkg\n", "other/b.go": "package other\n"})
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "escape")))
	require.NoError(t, os.Symlink("other", filepath.Join(root, "inside")))
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(root, "passwd")))
	require.NoError(t, os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(root, "dangling")))

	accept := map[string]string{
		"pkg/a.go":                      "pkg/a.go",
		"pkg/new_test.go":               "pkg/new_test.go",
		"new/deeply/nested/x_test.go":   "new/deeply/nested/x_test.go",
		"./pkg//a.go":                   "pkg/a.go",
		"pkg/../other/b.go":             "other/b.go",
		"inside/b.go":                   "inside/b.go",
		filepath.Join(root, "pkg/a.go"): "pkg/a.go",
		".":                             ".",
	}
	for p, want := range accept {
		got, err := Resolve(root, p)
		require.NoError(t, err, p)
		require.Equal(t, want, got, p)
	}

	reject := map[string]string{
		"../x":             "climbs out",
		"pkg/../../x":      "climbs out",
		"/etc/passwd":      "not inside the workspace",
		outside + "/x":     "not inside the workspace",
		"escape/x_test.go": "points outside",
		"escape":           "points outside",
		"passwd":           "points outside",
		"dangling/x":       "dangles",
		"":                 "empty",
		"a\x00b":           "NUL",
	}
	for p, msg := range reject {
		_, err := Resolve(root, p)
		require.ErrorIs(t, err, ErrOutsideWorkspace, p)
		require.ErrorContains(t, err, msg, p)
	}
}

func TestResolveRootThroughSymlink(t *testing.T) {
	t.Parallel()
	real := newDir(t)
	writeFiles(t, real, map[string]string{"a.go": "package a\n"})
	alias := filepath.Join(newDir(t), "alias")
	require.NoError(t, os.Symlink(real, alias))

	got, err := Resolve(alias, "a.go")
	require.NoError(t, err)
	require.Equal(t, "a.go", got)
	got, err = Resolve(alias, filepath.Join(alias, "new.go"))
	require.NoError(t, err)
	require.Equal(t, "new.go", got)
	got, err = Resolve(real, filepath.Join(alias, "sub", "new.go"))
	require.NoError(t, err, "an absolute path reaching the root through a symlink is inside")
	require.Equal(t, "sub/new.go", got)
}
