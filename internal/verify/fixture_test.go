package verify

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/testenv"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// fixtureTask is a task directory made from a testdata module: a stand-in
// for the engine's snapshot, diff and restore.
type fixtureTask struct {
	dir  string
	orig map[string][]byte // the "snapshot": file contents by relative path
}

// newFixtureTask copies testdata trees (a module, then overlays) into a
// fresh task directory, which is then the snapshot.
func newFixtureTask(t testing.TB, module string, overlays ...string) *fixtureTask {
	t.Helper()
	ft := &fixtureTask{dir: filepath.Join(t.TempDir(), "task"), orig: map[string][]byte{}}
	copyTree(t, module, ft.dir)
	for _, o := range overlays {
		copyTree(t, o, ft.dir)
	}
	err := filepath.WalkDir(ft.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(ft.dir, p)
		data, err := os.ReadFile(p)
		ft.orig[filepath.ToSlash(rel)] = data
		return err
	})
	require.NoError(t, err)
	return ft
}

// write puts files in the task directory as an agent would.
func (ft *fixtureTask) write(t testing.TB, rel, content string) {
	t.Helper()
	p := filepath.Join(ft.dir, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

// agentWrites copies a testdata agent tree over the task directory.
func (ft *fixtureTask) agentWrites(t testing.TB, agentDir string) {
	t.Helper()
	copyTree(t, agentDir, ft.dir)
}

// changes is workspace.Diff for the fixture.
func (ft *fixtureTask) changes(t testing.TB) []workspace.Change {
	t.Helper()
	var out []workspace.Change
	seen := map[string]bool{}
	err := filepath.WalkDir(ft.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(ft.dir, p)
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if was, ok := ft.orig[rel]; !ok {
			out = append(out, workspace.Change{Path: rel, Kind: workspace.Added})
		} else if !bytes.Equal(was, data) {
			out = append(out, workspace.Change{Path: rel, Kind: workspace.Modified})
		}
		return nil
	})
	require.NoError(t, err)
	for rel := range ft.orig {
		if !seen[rel] {
			out = append(out, workspace.Change{Path: rel, Kind: workspace.Deleted})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// restore is the engine's Restore for the fixture.
func (ft *fixtureTask) restore(rel string) error {
	p := filepath.Join(ft.dir, filepath.FromSlash(rel))
	data, ok := ft.orig[rel]
	if !ok {
		return os.RemoveAll(p)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

func (ft *fixtureTask) read(t testing.TB, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(ft.dir, filepath.FromSlash(rel)))
	require.NoError(t, err)
	return string(data)
}

func copyTree(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	require.NoError(t, err)
}

// testLog collects a transcript and prints it when the test fails.
func testLog(t testing.TB) *testenv.Buffer {
	b := &testenv.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("transcript:\n%s", b.String())
		}
	})
	return b
}

// needGo skips (or fails under HANDOFF_REQUIRE_ALL) without the go command.
func needGo(t testing.TB) {
	t.Helper()
	testenv.LookPath(t, "go", "install Go")
}

// needPython skips (or fails) without an interpreter that has pytest and
// coverage.py.
func needPython(t testing.TB) string {
	t.Helper()
	py := os.Getenv("HANDOFF_PYTHON")
	if py == "" {
		py = DefaultPython
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := execCommand(ctx, "", py, "-c", "import pytest, coverage"); err != nil {
		testenv.Missing(t, "pytest and coverage.py for "+py, "apt-get install python3-pytest python3-coverage ("+strings.TrimSpace(out)+")")
	}
	return py
}

// reasons maps dropped names to their reason codes.
func reasons(r *Report) map[string]string {
	m := map[string]string{}
	for _, d := range r.Dropped {
		m[d.Name] = d.Reason
	}
	return m
}
