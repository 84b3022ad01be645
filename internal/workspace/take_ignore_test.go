package workspace

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// ignoreRuleTree is what every ignore-rule variant must snapshot: the
// sources, never .handoff, never what the rules ignore.
var ignoreRuleTree = map[string]string{"main.go": "package main\n", "pkg/lib.go": "package pkg\n"}

// writeIgnoreFixture lays out sources, an ignored file and handoff's state
// (with a file under .handoff that any *.db rule also matches).
func writeIgnoreFixture(t *testing.T, root string) {
	t.Helper()
	writeFiles(t, root, ignoreRuleTree)
	writeFiles(t, root, map[string]string{"local.db": "ignored by *.db\n", ".handoff/handoff.db": "state\n"})
}

// Every way a repository can ignore .handoff leaves snapshots working:
// git 2.39 (Debian 12's) fails a git add whose pathspec names an ignored
// path, even as an exclusion, so handoff must never name it.
func TestTakeGitWhateverTheIgnoreRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(t *testing.T, root string)
	}{
		{".handoff", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{".gitignore": ".handoff\n*.db\n"})
		}},
		{".handoff/", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{".gitignore": ".handoff/\n*.db\n"})
		}},
		{"/.handoff/*", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{".gitignore": "/.handoff/*\n*.db\n"})
		}},
		{"*.db", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{".gitignore": "*.db\n"})
		}},
		{"info/exclude", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{".git/info/exclude": ".handoff\n*.db\n"})
		}},
		{"core.excludesFile", func(t *testing.T, root string) {
			// The variable a global config sets, set here in the
			// repository's own config so the test never reads or
			// writes the user's.
			excludes := filepath.Join(newDir(t), "global-ignore")
			require.NoError(t, os.WriteFile(excludes, []byte(".handoff/\n*.db\n"), 0o644))
			runGit(t, root, "config", "core.excludesFile", excludes)
		}},
		{"state dir's own .gitignore emptied", func(t *testing.T, root string) {
			// Nothing ignores .handoff but handoff's own rule, and the
			// user emptied it: the snapshot still leaves .handoff out.
			writeFiles(t, root, map[string]string{".gitignore": "*.db\n", ".handoff/.gitignore": ""})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			root := newRepo(t)
			writeIgnoreFixture(t, root)
			c.setup(t, root)
			snap := takeSnapshot(t, root, "ignored")
			got := readTree(t, materialize(t, snap))
			delete(got, ".gitignore")
			require.Equal(t, ignoreRuleTree, got)
		})
	}
}

// The global excludes file git reads by default,
// $XDG_CONFIG_HOME/git/ignore. Not parallel: it sets HOME and
// XDG_CONFIG_HOME for the whole process.
func TestTakeGitGlobalExcludesFile(t *testing.T) {
	home := newDir(t)
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	writeFiles(t, home, map[string]string{".config/git/ignore": ".handoff\n*.db\n"})
	root := newRepo(t)
	writeIgnoreFixture(t, root)
	require.Equal(t, ".handoff", runGit(t, root, "check-ignore", ".handoff"), "the global file is in force")
	snap := takeSnapshot(t, root, "global")
	require.Equal(t, ignoreRuleTree, readTree(t, materialize(t, snap)))
}
