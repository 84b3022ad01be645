package workspace

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// settle waits until the file system's clock has moved past every time in
// the workspace and its git directory, as it has in a workspace nobody wrote
// to in the last few milliseconds: a write in the same clock tick as a
// snapshot keeps the next one from reusing its tree. The state directory is
// made first, as the first snapshot of a workspace makes it.
func settle(tb testing.TB, root string) {
	tb.Helper()
	_, err := EnsureStateDir(root)
	require.NoError(tb, err)
	var newest int64
	require.NoError(tb, filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		s, ok, err := statFile(p)
		if ok {
			newest = max(newest, s.newest())
		}
		return err
	}))
	probe := filepath.Join(root, ".git", "handoff-test-clock")
	deadline := time.Now().Add(30 * time.Second) // a clock tick is milliseconds; generous for a loaded machine
	for {
		require.NoError(tb, os.WriteFile(probe, []byte(time.Now().String()), 0o644))
		s, _, err := statFile(probe)
		require.NoError(tb, err)
		if s.newest() > newest {
			return
		}
		require.True(tb, time.Now().Before(deadline), "the file system's clock did not move")
		time.Sleep(time.Millisecond) // polling the clock
	}
}

// takeReused takes a snapshot, released when the test ends, and reports
// whether it reused the last tree.
func takeReused(tb testing.TB, root string, ids ...string) (Snapshot, bool) {
	tb.Helper()
	snaps, reused, err := takeMany(context.Background(), root, ids)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		for _, s := range snaps {
			_ = s.Release(context.Background())
		}
	})
	for _, s := range snaps {
		require.Equal(tb, s.Ref, runGit(tb, root, "rev-parse", refName(s.ID)), "pinned under its own ref")
	}
	return snaps[0], reused
}

// lsTree returns the files of a snapshot's tree as git ls-tree lists them:
// path → content, with "+x " before the content of an executable.
func lsTree(tb testing.TB, root, tree string) map[string]string {
	tb.Helper()
	got := map[string]string{}
	for line := range strings.SplitSeq(runGit(tb, root, "ls-tree", "-r", tree), "\n") {
		if line == "" {
			continue
		}
		meta, path, ok := strings.Cut(line, "\t")
		require.True(tb, ok, line)
		f := strings.Fields(meta) // mode type object
		content := runGit(tb, root, "cat-file", "blob", f[2])
		if f[0] == "100755" {
			content = "+x " + content
		}
		got[path] = content
	}
	return got
}

// reuseRepo is a committed repository with a modified file, an untracked
// file and an ignored one, settled and snapshotted once, so that its next
// snapshot reuses the tree.
func reuseRepo(t *testing.T) string {
	t.Helper()
	root := newRepo(t)
	writeFiles(t, root, map[string]string{".gitignore": "*.log", "a.go": "a1", "b.go": "b1", "pkg/c.go": "c1"})
	runGit(t, root, "add", "-A")
	runGit(t, root, "commit", "-q", "-m", "init")
	writeFiles(t, root, map[string]string{"a.go": "a2", "notes.txt": "n1", "debug.log": "ignored"})
	settle(t, root)
	_, reused := takeReused(t, root, "first")
	require.False(t, reused, "nothing to reuse yet")
	_, reused = takeReused(t, root, "second")
	require.True(t, reused, "nothing changed since the first snapshot")
	return root
}

var reuseRepoTree = map[string]string{".gitignore": "*.log", "a.go": "a2", "b.go": "b1", "pkg/c.go": "c1", "notes.txt": "n1"}

func TestTakeGitReusesUnchangedWorkspace(t *testing.T) {
	t.Parallel()
	if !stampsSupported {
		t.Skip("snapshots are not reused on this platform")
	}
	root := reuseRepo(t)
	first := runGit(t, root, "rev-parse", "refs/handoff/first")
	snap, reused := takeReused(t, root, "third", "fourth")
	require.True(t, reused)
	require.Equal(t, first, snap.Ref, "the same tree")
	require.Equal(t, first, runGit(t, root, "rev-parse", "refs/handoff/fourth"), "a batch pins every id")
	require.Equal(t, reuseRepoTree, lsTree(t, root, snap.Ref))
	require.Equal(t, reuseRepoTree, readTree(t, materialize(t, snap)))

	// The cache ref keeps the tree's objects when every task has let go
	// of it and gc prunes.
	for _, id := range []string{"first", "second", "third", "fourth"} {
		require.NoError(t, Snapshot{ID: id, Workspace: root, Kind: KindGit}.Release(context.Background()))
	}
	runGit(t, root, "gc", "-q", "--prune=now")
	snap, reused = takeReused(t, root, "after-gc")
	require.True(t, reused)
	require.Equal(t, reuseRepoTree, readTree(t, materialize(t, snap)))

	// Another process recording another tree moves the cache ref; a
	// reuse verifies it, so the tree is written again.
	runGit(t, root, "update-ref", cacheRef(root), runGit(t, root, "rev-parse", "HEAD^{tree}"))
	snap, reused = takeReused(t, root, "moved")
	require.False(t, reused)
	require.Equal(t, reuseRepoTree, lsTree(t, root, snap.Ref))

	entries, err := os.ReadDir(filepath.Join(root, StateDirName))
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), "index", "no temporary index is left behind")
	}
	require.Empty(t, runGit(t, root, "status", "--porcelain", "--ignored=no", "--", ".handoff"))
}

// Every kind of change after a reusable snapshot is in the next one.
func TestTakeGitReuseSeesChanges(t *testing.T) {
	t.Parallel()
	if !stampsSupported {
		t.Skip("snapshots are not reused on this platform")
	}
	with := func(changes map[string]string, gone ...string) map[string]string {
		want := map[string]string{}
		for k, v := range reuseRepoTree {
			want[k] = v
		}
		for k, v := range changes {
			want[k] = v
		}
		for _, k := range gone {
			delete(want, k)
		}
		return want
	}
	cases := []struct {
		name   string
		change func(t *testing.T, root string)
		want   map[string]string
	}{
		{"modified, same size", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{"b.go": "b2"})
		}, with(map[string]string{"b.go": "b2"})},
		{"modified, same size and mtime", func(t *testing.T, root string) {
			p := filepath.Join(root, "b.go")
			fi, err := os.Stat(p)
			require.NoError(t, err)
			writeFiles(t, root, map[string]string{"b.go": "b3"})
			require.NoError(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
		}, with(map[string]string{"b.go": "b3"})},
		{"new untracked file", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{"pkg/new.go": "new"})
		}, with(map[string]string{"pkg/new.go": "new"})},
		{"new untracked file in a new directory", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{"deep/er/x.go": "x"})
		}, with(map[string]string{"deep/er/x.go": "x"})},
		{"deleted tracked file", func(t *testing.T, root string) {
			require.NoError(t, os.Remove(filepath.Join(root, "pkg", "c.go")))
		}, with(nil, "pkg/c.go")},
		{"deleted untracked file", func(t *testing.T, root string) {
			require.NoError(t, os.Remove(filepath.Join(root, "notes.txt")))
		}, with(nil, "notes.txt")},
		{"executable bit", func(t *testing.T, root string) {
			require.NoError(t, os.Chmod(filepath.Join(root, "b.go"), 0o755))
		}, with(map[string]string{"b.go": "+x b1"})},
		{"newly ignored by .gitignore", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{".gitignore": "*.log\nnotes.txt"})
		}, with(map[string]string{".gitignore": "*.log\nnotes.txt"}, "notes.txt")},
		{"no longer ignored", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{".gitignore": "# none\n"})
		}, with(map[string]string{".gitignore": "# none", "debug.log": "ignored"})},
		{"newly ignored by info/exclude", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{".git/info/exclude": "notes.txt\n"})
		}, with(nil, "notes.txt")},
		{"newly ignored by core.excludesFile", func(t *testing.T, root string) {
			excludes := filepath.Join(newDir(t), "ignore")
			require.NoError(t, os.WriteFile(excludes, []byte("notes.txt\n"), 0o644))
			runGit(t, root, "config", "core.excludesFile", excludes)
		}, with(nil, "notes.txt")},
		{"user force-adds an ignored file", func(t *testing.T, root string) {
			runGit(t, root, "add", "-f", "debug.log") // only the user's index changes
		}, with(map[string]string{"debug.log": "ignored"})},
		{"user untracks a file and ignores it", func(t *testing.T, root string) {
			runGit(t, root, "rm", "-q", "--cached", "b.go")
			writeFiles(t, root, map[string]string{".git/info/exclude": "b.go\n"})
		}, with(nil, "b.go")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			root := reuseRepo(t)
			c.change(t, root)
			snap, reused := takeReused(t, root, "changed")
			require.False(t, reused)
			require.Equal(t, c.want, lsTree(t, root, snap.Ref))
			// And the new state is reused in turn once it settles.
			settle(t, root)
			takeReused(t, root, "record")
			snap, reused = takeReused(t, root, "again")
			require.True(t, reused)
			require.Equal(t, c.want, lsTree(t, root, snap.Ref))
		})
	}
}

// A global excludes file edited after the snapshot is seen, though no file
// in the repository changed: the files git reads are stamped too.
func TestTakeGitReuseSeesExcludesFileEdits(t *testing.T) {
	t.Parallel()
	if !stampsSupported {
		t.Skip("snapshots are not reused on this platform")
	}
	excludes := filepath.Join(newDir(t), "ignore")
	require.NoError(t, os.WriteFile(excludes, []byte("*.tmp\n"), 0o644))
	root := newRepo(t)
	runGit(t, root, "config", "core.excludesFile", excludes)
	writeFiles(t, root, map[string]string{"a.go": "a", "notes.txt": "n"})
	settle(t, root)
	takeReused(t, root, "first")
	_, reused := takeReused(t, root, "second")
	require.True(t, reused)

	require.NoError(t, os.WriteFile(excludes, []byte("*.tmp\nnotes.txt\n"), 0o644))
	snap, reused := takeReused(t, root, "third")
	require.False(t, reused)
	require.Equal(t, map[string]string{"a.go": "a"}, lsTree(t, root, snap.Ref))
}

// Writes in the same clock tick as a snapshot are never lost: the next
// snapshot has them, whatever the tick boundaries were.
func TestTakeGitReuseRacyWrites(t *testing.T) {
	t.Parallel()
	if !stampsSupported {
		t.Skip("snapshots are not reused on this platform")
	}
	root := newRepo(t)
	p := filepath.Join(root, "f.go")
	for i := range 30 {
		want := fmt.Sprintf("v%02d", i) // same size every time
		require.NoError(t, os.WriteFile(p, []byte(want), 0o644))
		fi, err := os.Stat(p)
		require.NoError(t, err)
		snap, _ := takeReused(t, root, fmt.Sprintf("s%d", i))
		require.Equal(t, map[string]string{"f.go": want}, lsTree(t, root, snap.Ref))
		// A rewrite that keeps size and mtime, right after the snapshot.
		require.NoError(t, os.WriteFile(p, []byte(fmt.Sprintf("w%02d", i)), 0o644))
		require.NoError(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
		snap, _ = takeReused(t, root, fmt.Sprintf("t%d", i))
		require.Equal(t, map[string]string{"f.go": fmt.Sprintf("w%02d", i)}, lsTree(t, root, snap.Ref))
	}
}

// findNewer finds a write after the marker wherever it is, the hot
// directories first, and nothing when there is none.
func TestFindNewer(t *testing.T) {
	t.Parallel()
	if !stampsSupported {
		t.Skip("snapshots are not reused on this platform")
	}
	root := newRepo(t)
	writeFiles(t, root, map[string]string{"a/b/c.go": "c", "a/d.go": "d", "e.go": "e", ".handoff/x": "x"})
	settle(t, root)
	index, marker, _, err := newIndex(root, filepath.Join(root, ".git"))
	require.NoError(t, err)
	os.Remove(index) // there is none without a user's index
	_, found, err := findNewer(root, marker, 100, nil)
	require.NoError(t, err)
	require.False(t, found, ".git and .handoff are not looked at")
	_, _, err = findNewer(root, marker, 3, nil)
	require.ErrorIs(t, err, errNotStampable, "past the limit")

	p := filepath.Join(root, "a", "b", "c.go")
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte("C"), 0o644))
	require.NoError(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
	dir, found, err := findNewer(root, marker, 100, []string{"a/b"})
	require.NoError(t, err)
	require.True(t, found, "the change time shows a write whatever the modification time says")
	require.Equal(t, "a/b", dir)
	dir, found, err = findNewer(root, marker, 100, []string{"gone/dir", "a"})
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "a/b", dir)

	writeFiles(t, root, map[string]string{"a/nested/.git": "gitdir: elsewhere"})
	_, found, err = findNewer(root, time.Now().Add(time.Hour).UnixNano(), 100, nil)
	require.ErrorIs(t, err, errNotStampable, "a nested repository")
	require.False(t, found)
}

// Workspaces that cannot be checked for writes are snapshotted in full,
// correctly.
func TestTakeGitNotStampable(t *testing.T) {
	t.Parallel()
	if !stampsSupported {
		t.Skip("snapshots are not reused on this platform")
	}
	root := kinds[0].make(t)
	nested := filepath.Join(root, "vendor", "lib")
	require.NoError(t, os.MkdirAll(nested, 0o755))
	runGit(t, nested, "init", "-q")
	writeFiles(t, nested, map[string]string{"lib.go": "package lib\n"})
	runGit(t, nested, "add", "-A")
	runGit(t, nested, "commit", "-q", "-m", "lib")
	settle(t, root)
	takeReused(t, root, "first")
	snap, reused := takeReused(t, root, "second")
	require.False(t, reused, "the nested repository's commit is outside any stamp")
	require.NotEmpty(t, loadReuseState(root).Skip, "no walk until the index changes")
	runGit(t, nested, "commit", "-q", "--allow-empty", "-m", "moved on")
	head := runGit(t, nested, "rev-parse", "HEAD")
	snap, _ = takeReused(t, root, "third")
	require.Contains(t, runGit(t, root, "ls-tree", snap.Ref, "vendor/lib"), head, "the nested repository's new commit")
}

// TestHelperTake is not a test: run by TestTakeGitConcurrentProcesses as a
// separate process, it takes snapshots of HANDOFF_TEST_TAKE_ROOT under the
// ids in HANDOFF_TEST_TAKE_IDS, one at a time, and prints "id tree reused".
func TestHelperTake(t *testing.T) {
	root := os.Getenv("HANDOFF_TEST_TAKE_ROOT")
	if root == "" {
		t.Skip("run by TestTakeGitConcurrentProcesses")
	}
	for _, id := range strings.Fields(os.Getenv("HANDOFF_TEST_TAKE_IDS")) {
		snaps, reused, err := takeMany(context.Background(), root, []string{id})
		if err != nil {
			fmt.Printf("ERROR %s %v\n", id, err)
			continue
		}
		fmt.Printf("SNAP %s %s %v\n", id, snaps[0].Ref, reused)
	}
}

// Submits from several processes at once in one workspace share the reuse
// state and the cache ref: every snapshot holds the workspace as it was,
// whether written or reused, and the state stays whole.
func TestTakeGitConcurrentProcesses(t *testing.T) {
	t.Parallel()
	if !stampsSupported {
		t.Skip("snapshots are not reused on this platform")
	}
	root := reuseRepo(t)
	const procs, perProc = 4, 3
	reusedAny := false
	want := map[string]string{}
	for k, v := range reuseRepoTree {
		want[k] = v
	}
	for round := range 4 {
		if round%2 == 1 { // every other round starts from a change
			want["a.go"] = fmt.Sprintf("round %d", round)
			writeFiles(t, root, map[string]string{"a.go": want["a.go"]})
		}
		var wg sync.WaitGroup
		outs := make([][]string, procs)
		for p := range procs {
			ids := make([]string, perProc)
			for k := range ids {
				ids[k] = fmt.Sprintf("r%d-p%d-%d", round, p, k)
			}
			wg.Go(func() {
				cmd := exec.Command(os.Args[0], "-test.run=^TestHelperTake$", "-test.count=1")
				cmd.Env = append(os.Environ(), "HANDOFF_TEST_TAKE_ROOT="+root, "HANDOFF_TEST_TAKE_IDS="+strings.Join(ids, " "))
				out, err := cmd.CombinedOutput()
				if err != nil {
					outs[p] = []string{fmt.Sprintf("ERROR helper %v: %s", err, out)}
					return
				}
				sc := bufio.NewScanner(strings.NewReader(string(out)))
				for sc.Scan() {
					if strings.HasPrefix(sc.Text(), "SNAP ") || strings.HasPrefix(sc.Text(), "ERROR ") {
						outs[p] = append(outs[p], sc.Text())
					}
				}
			})
		}
		wg.Wait()
		for p, lines := range outs {
			require.Len(t, lines, perProc, "process %d: %v", p, lines)
			for _, line := range lines {
				f := strings.Fields(line)
				require.Equal(t, "SNAP", f[0], line)
				require.Equal(t, f[2], runGit(t, root, "rev-parse", refName(f[1])), line)
				require.Equal(t, want, lsTree(t, root, f[2]), line)
				reusedAny = reusedAny || f[3] == "true"
				require.NoError(t, Snapshot{ID: f[1], Workspace: root, Kind: KindGit}.Release(context.Background()))
			}
		}
		settle(t, root)
	}
	require.True(t, reusedAny, "some snapshots reused a tree")
	require.Equal(t, reuseVersion, loadReuseState(root).Version, "the state file is whole")
	entries, err := os.ReadDir(filepath.Join(root, StateDirName))
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasPrefix(e.Name(), "snapshot-index-") || strings.HasPrefix(e.Name(), "."+reuseStateName),
			"left behind: %s", e.Name())
	}
}
