package workspace

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// runGit runs git in dir for a test, with an environment free of GIT_*
// variables and a fixed identity, and returns its trimmed output.
func runGit(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	full := append([]string{
		"-c", "user.name=handoff test", "-c", "user.email=test@handoff.invalid",
		"-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always",
	}, args...)
	cmd := exec.Command("git", full...)
	cmd.Dir = dir
	cmd.Env = gitEnv(os.Environ())
	out, err := cmd.CombinedOutput()
	require.NoError(tb, err, "git %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// newDir returns an empty directory with symlinks resolved.
func newDir(tb testing.TB) string {
	tb.Helper()
	dir, err := filepath.EvalSymlinks(tb.TempDir())
	require.NoError(tb, err)
	return dir
}

// newRepo returns an initialised git work tree with no commits.
func newRepo(tb testing.TB) string {
	tb.Helper()
	dir := newDir(tb)
	runGit(tb, dir, "init", "-q")
	return dir
}

// writeFiles writes files (slash path → content) under dir.
func writeFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(tb, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(tb, os.WriteFile(p, []byte(content), 0o644))
	}
}

// readTree returns every regular file under dir as path → content, and every
// symlink as path → "-> target".
func readTree(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	got := map[string]string{}
	require.NoError(tb, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			got[filepath.ToSlash(rel)] = "-> " + target
			return err
		}
		data, err := os.ReadFile(p)
		got[filepath.ToSlash(rel)] = string(data)
		return err
	}))
	return got
}

// kinds lists the two snapshot kinds with a constructor for an empty
// workspace of that kind, so behaviour tests run on both.
var kinds = []struct {
	name string
	make func(testing.TB) string
}{
	{KindGit, func(tb testing.TB) string {
		dir := newRepo(tb)
		writeFiles(tb, dir, map[string]string{"README": "readme\n"})
		runGit(tb, dir, "add", "-A")
		runGit(tb, dir, "commit", "-q", "-m", "init")
		return dir
	}},
	{KindCopy, func(tb testing.TB) string {
		dir := newDir(tb)
		writeFiles(tb, dir, map[string]string{"README": "readme\n"})
		return dir
	}},
}

// takeSnapshot takes a snapshot and releases it when the test ends.
func takeSnapshot(tb testing.TB, root, id string) Snapshot {
	tb.Helper()
	snap, err := Take(context.Background(), root, id)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = snap.Release(context.Background()) })
	return snap
}

// materialize writes snap into a fresh task directory and returns it.
func materialize(tb testing.TB, snap Snapshot) string {
	tb.Helper()
	dst := filepath.Join(newDir(tb), "work")
	require.NoError(tb, snap.Materialize(context.Background(), dst))
	return dst
}
