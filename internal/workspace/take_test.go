package workspace

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTakeGitCapturesWorkingTreeNotIndex(t *testing.T) {
	t.Parallel()
	root := newRepo(t)
	writeFiles(t, root, map[string]string{
		".gitignore":       "*.log\nbuild/\n",
		"main.go":          "package main // v1\n",
		"pkg/lib.go":       "package pkg // v1\n",
		"staged.go":        "staged v1\n",
		"gone.go":          "to be deleted\n",
		".handoff/tracked": "forced into the index once\n",
	})
	runGit(t, root, "add", "-A")
	runGit(t, root, "add", "-f", ".handoff/tracked")
	runGit(t, root, "commit", "-q", "-m", "init")
	writeFiles(t, root, map[string]string{
		"main.go":             "package main // v2 unstaged\n",
		"staged.go":           "staged v2\n",
		"untracked/new.go":    "package untracked\n",
		"debug.log":           "ignored\n",
		"build/out.bin":       "ignored\n",
		".handoff/handoff.db": "state\n",
	})
	runGit(t, root, "add", "staged.go")
	writeFiles(t, root, map[string]string{"staged.go": "staged v3 in the working tree\n"})
	require.NoError(t, os.Remove(filepath.Join(root, "gone.go")))
	require.NoError(t, os.Symlink("main.go", filepath.Join(root, "link.go")))

	indexBefore, err := os.ReadFile(filepath.Join(root, ".git", "index"))
	require.NoError(t, err)
	cachedBefore := runGit(t, root, "diff", "--cached", "--stat")
	headBefore := runGit(t, root, "rev-parse", "HEAD")

	snap := takeSnapshot(t, root, "task-1")
	require.Equal(t, KindGit, snap.Kind)
	require.Equal(t, root, snap.Workspace)
	require.Equal(t, snap.Ref, runGit(t, root, "rev-parse", "refs/handoff/task-1"))

	indexAfter, err := os.ReadFile(filepath.Join(root, ".git", "index"))
	require.NoError(t, err)
	require.Equal(t, indexBefore, indexAfter, "the user's index must not change")
	require.Equal(t, cachedBefore, runGit(t, root, "diff", "--cached", "--stat"))
	require.Equal(t, headBefore, runGit(t, root, "rev-parse", "HEAD"))

	// Later edits in the workspace do not reach the snapshot.
	writeFiles(t, root, map[string]string{"main.go": "package main // v3 after the snapshot\n"})

	dst := materialize(t, snap)
	require.Equal(t, map[string]string{
		".gitignore":       "*.log\nbuild/\n",
		"main.go":          "package main // v2 unstaged\n",
		"pkg/lib.go":       "package pkg // v1\n",
		"staged.go":        "staged v3 in the working tree\n",
		"untracked/new.go": "package untracked\n",
		"link.go":          "-> main.go",
	}, readTree(t, dst))
	require.NoDirExists(t, filepath.Join(dst, ".git"), "the task directory is not a repository")
	require.FileExists(t, filepath.Join(filepath.Dir(dst), manifestName))
	require.NoFileExists(t, filepath.Join(dst, manifestName))
}

func TestTakeGitLeavesStatusClean(t *testing.T) {
	t.Parallel()
	root := kinds[0].make(t)
	before := runGit(t, root, "status", "--porcelain", "--untracked-files=all")
	takeSnapshot(t, root, "t1")
	require.DirExists(t, filepath.Join(root, StateDirName))
	require.Equal(t, before, runGit(t, root, "status", "--porcelain", "--untracked-files=all"),
		".handoff must be ignored by git")
}

func TestTakeGitNoCommits(t *testing.T) {
	t.Parallel()
	root := newRepo(t)
	writeFiles(t, root, map[string]string{"a.go": "package a\n", "dir/b.py": "x = 1\n"})
	snap := takeSnapshot(t, root, "first")
	require.Equal(t, KindGit, snap.Kind)
	require.NoFileExists(t, filepath.Join(root, ".git", "index"), "Take must not create the user's index")
	require.Equal(t, map[string]string{"a.go": "package a\n", "dir/b.py": "x = 1\n"}, readTree(t, materialize(t, snap)))
}

func TestTakeGitEmptyRepository(t *testing.T) {
	t.Parallel()
	snap := takeSnapshot(t, newRepo(t), "empty")
	require.Empty(t, readTree(t, materialize(t, snap)))
}

func TestTakeGitWorktree(t *testing.T) {
	t.Parallel()
	main := kinds[0].make(t)
	wt := filepath.Join(newDir(t), "wt")
	runGit(t, main, "worktree", "add", "-q", "-b", "side", wt)
	writeFiles(t, wt, map[string]string{"side.go": "package side\n"})
	root, err := Root(filepath.Join(wt))
	require.NoError(t, err)
	require.Equal(t, wt, root)
	gd, ok := gitDir(wt)
	require.True(t, ok)
	indexBefore, err := os.ReadFile(filepath.Join(gd, "index"))
	require.NoError(t, err)

	snap := takeSnapshot(t, root, "wt-task")
	require.Equal(t, KindGit, snap.Kind)
	require.Equal(t, map[string]string{"README": "readme\n", "side.go": "package side\n"}, readTree(t, materialize(t, snap)))
	indexAfter, err := os.ReadFile(filepath.Join(gd, "index"))
	require.NoError(t, err)
	require.Equal(t, indexBefore, indexAfter)
	require.Equal(t, snap.Ref, runGit(t, main, "rev-parse", "refs/handoff/wt-task"), "refs/handoff is shared by worktrees")
}

func TestTakeGitSkipsSubmoduleContent(t *testing.T) {
	t.Parallel()
	sub := kinds[0].make(t)
	writeFiles(t, sub, map[string]string{"inner.go": "package inner\n"})
	runGit(t, sub, "add", "-A")
	runGit(t, sub, "commit", "-q", "-m", "inner")
	root := kinds[0].make(t)
	runGit(t, root, "submodule", "add", "-q", sub, "vendor/sub")
	runGit(t, root, "commit", "-q", "-m", "add submodule")
	writeFiles(t, root, map[string]string{"vendor/sub/inner.go": "changed inside the submodule\n", "top.go": "package top\n"})

	snap := takeSnapshot(t, root, "with-sub")
	dst := materialize(t, snap)
	files := readTree(t, dst)
	require.Equal(t, "package top\n", files["top.go"])
	require.Contains(t, files, ".gitmodules")
	require.NotContains(t, files, "vendor/sub/inner.go")
	changes, err := Diff(dst)
	require.NoError(t, err)
	require.Empty(t, changes)
}

func TestTakeGitKeepsExportIgnoredFiles(t *testing.T) {
	t.Parallel()
	root := newRepo(t)
	writeFiles(t, root, map[string]string{".gitattributes": "tests/ export-ignore\n", "tests/a_test.go": "package tests\n"})
	snap := takeSnapshot(t, root, "attrs")
	require.Contains(t, readTree(t, materialize(t, snap)), "tests/a_test.go")
}

func TestTakeCopy(t *testing.T) {
	t.Parallel()
	root := newDir(t)
	writeFiles(t, root, map[string]string{
		"main.py":             "print(1)\n",
		"pkg/mod.py":          "x = 1\n",
		"vendored/.git/HEAD":  "ref: refs/heads/main\n",
		"vendored/lib.py":     "y = 2\n",
		".handoff/handoff.db": "state\n",
	})
	require.NoError(t, os.Chmod(filepath.Join(root, "main.py"), 0o755))
	require.NoError(t, os.Symlink("pkg/mod.py", filepath.Join(root, "alias.py")))

	snap := takeSnapshot(t, root, "copy-1")
	require.Equal(t, KindCopy, snap.Kind)
	require.Equal(t, filepath.Join(root, ".handoff", "snapshots", "copy-1"), snap.Ref)
	require.FileExists(t, filepath.Join(root, ".handoff", ".gitignore"))

	writeFiles(t, root, map[string]string{"main.py": "print(2)\n"})
	dst := materialize(t, snap)
	require.Equal(t, map[string]string{
		"main.py":         "print(1)\n",
		"pkg/mod.py":      "x = 1\n",
		"vendored/lib.py": "y = 2\n",
		"alias.py":        "-> pkg/mod.py",
	}, readTree(t, dst))
	fi, err := os.Stat(filepath.Join(dst, "main.py"))
	require.NoError(t, err)
	require.NotZero(t, fi.Mode()&0o100, "the executable bit survives")

	again := takeSnapshot(t, root, "copy-1")
	require.Equal(t, "print(2)\n", readTree(t, materialize(t, again))["main.py"], "taking the same id again replaces it")
}

func TestTakeRejectsBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := newDir(t)
	for _, id := range []string{"", "../x", "a/b", ".hidden", "x.lock", "a..b", "with space"} {
		_, err := Take(ctx, root, id)
		require.Error(t, err, "id %q", id)
	}
	_, err := Take(ctx, "relative/dir", "ok")
	require.ErrorContains(t, err, "not absolute")
}

func TestMaterializeRefusesNonEmptyDir(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			snap := takeSnapshot(t, k.make(t), "t")
			dst := newDir(t)
			writeFiles(t, dst, map[string]string{"x": "y"})
			err := snap.Materialize(context.Background(), dst)
			require.ErrorContains(t, err, "not empty")
			require.NoError(t, snap.Materialize(context.Background(), newDir(t)), "an existing empty directory is fine")
		})
	}
}

func TestGitEnvDropsCallerGitVariables(t *testing.T) {
	t.Parallel()
	env := gitEnv([]string{"PATH=/bin", "GIT_DIR=/elsewhere", "GIT_INDEX_FILE=/user/index", "GIT_WORK_TREE=/x", "HOME=/root"})
	require.Equal(t, []string{"PATH=/bin", "HOME=/root", "GIT_TERMINAL_PROMPT=0"}, env)
}

func TestTakeGitEmbeddedRepositoryWithoutCommits(t *testing.T) {
	t.Parallel()
	root := kinds[0].make(t)
	for _, nested := range []string{"scratch", "deep/other repo"} {
		dir := filepath.Join(root, filepath.FromSlash(nested))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		runGit(t, dir, "init", "-q")
		writeFiles(t, dir, map[string]string{"inside.go": "package inside\n"})
	}
	writeFiles(t, root, map[string]string{"top.go": "package top\n"})
	snap := takeSnapshot(t, root, "nested")
	require.Equal(t, map[string]string{"README": "readme\n", "top.go": "package top\n"}, readTree(t, materialize(t, snap)))
}

func TestTakeGitIndexVersion4(t *testing.T) {
	t.Parallel()
	root := newRepo(t)
	writeFiles(t, root, map[string]string{".handoff-notes": "n\n", ".handoff/forced": "f\n", "a.go": "package a\n"})
	runGit(t, root, "add", "-A")
	runGit(t, root, "add", "-f", ".handoff/forced")
	runGit(t, root, "update-index", "--index-version", "4")
	runGit(t, root, "commit", "-q", "-m", "v4")
	snap := takeSnapshot(t, root, "v4")
	require.Equal(t, map[string]string{".handoff-notes": "n\n", "a.go": "package a\n"}, readTree(t, materialize(t, snap)))
}

// TakeMany: one state for every id, each snapshot released on its own, and
// a bad id leaves nothing behind.
func TestTakeMany(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			root := k.make(t)
			writeFiles(t, root, map[string]string{"mod.go": "package mod // v1\n"})
			snaps, err := TakeMany(ctx, root, []string{"a", "b", "c"})
			require.NoError(t, err)
			require.Len(t, snaps, 3)
			writeFiles(t, root, map[string]string{"mod.go": "package mod // v2 after\n"})
			for i, s := range snaps {
				require.Equal(t, []string{"a", "b", "c"}[i], s.ID)
				require.Equal(t, "package mod // v1\n", readTree(t, materialize(t, s))["mod.go"])
			}
			require.NoError(t, snaps[0].Release(ctx))
			require.Equal(t, "package mod // v1\n", readTree(t, materialize(t, snaps[1]))["mod.go"],
				"releasing one snapshot leaves the others whole")
			if k.name == KindGit {
				require.Empty(t, runGit(t, root, "for-each-ref", "refs/handoff/a"))
				require.Equal(t, snaps[1].Ref, runGit(t, root, "rev-parse", "refs/handoff/b"))
			}
			for _, s := range snaps[1:] {
				require.NoError(t, s.Release(ctx))
			}

			_, err = TakeMany(ctx, root, []string{"ok", "../bad"})
			require.ErrorContains(t, err, `"../bad"`)
			if k.name == KindGit {
				require.Empty(t, runGit(t, root, "for-each-ref", "refs/handoff/"))
			} else {
				entries, _ := os.ReadDir(filepath.Join(root, StateDirName, "snapshots"))
				require.Empty(t, entries)
			}
		})
	}
}

// Outside git, a batch copies the workspace once: the other snapshots are
// hard links to that copy, with the same tree, symlinks and modes, and
// outlive it.
func TestTakeManyCopiesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := newDir(t)
	writeFiles(t, root, map[string]string{"run.sh": "echo hi\n", "pkg/deep/mod.py": "x = 1\n", "vendored/.git/HEAD": "x\n"})
	require.NoError(t, os.Chmod(filepath.Join(root, "run.sh"), 0o755))
	require.NoError(t, os.Symlink("pkg/deep/mod.py", filepath.Join(root, "alias.py")))

	snaps, err := TakeMany(ctx, root, []string{"a", "b", "c"})
	require.NoError(t, err)
	want := map[string]string{"run.sh": "echo hi\n", "pkg/deep/mod.py": "x = 1\n", "alias.py": "-> pkg/deep/mod.py"}
	for _, s := range snaps {
		require.Equal(t, KindCopy, s.Kind)
		require.Equal(t, want, readTree(t, materialize(t, s)))
	}
	a, err := os.Stat(filepath.Join(snaps[0].Ref, "pkg/deep/mod.py"))
	require.NoError(t, err)
	c, err := os.Stat(filepath.Join(snaps[2].Ref, "pkg/deep/mod.py"))
	require.NoError(t, err)
	require.True(t, os.SameFile(a, c), "the third snapshot shares the first one's file instead of copying it")

	require.NoError(t, snaps[0].Release(ctx))
	dst := materialize(t, snaps[2])
	require.Equal(t, want, readTree(t, dst))
	fi, err := os.Stat(filepath.Join(dst, "run.sh"))
	require.NoError(t, err)
	require.NotZero(t, fi.Mode()&0o100, "the executable bit survives the link")
}
