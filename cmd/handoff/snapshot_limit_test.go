package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A workspace over the snapshot limits is refused at submit, with the file,
// the limit and the variable that raises it, and nothing is queued.
func TestSnapshotOverTheLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	require.NoError(t, os.WriteFile(filepath.Join(e.ws, "data.bin"), []byte(strings.Repeat("x", 2<<20)), 0o644))
	r := e.run([]string{"HANDOFF_SNAPSHOT_MAX_FILE=1"}, "submit", "--module", "calc.go", "--agent", "exec")
	require.Equal(t, 2, r.code, r.stderr)
	require.Contains(t, r.stderr, "data.bin is 2.0 MiB, over the limit of 1.0 MiB")
	require.Contains(t, r.stderr, "HANDOFF_SNAPSHOT_MAX_FILE")
	require.Empty(t, r.stdout)
	list := e.run(nil, "list", "--json")
	require.Equal(t, 0, list.code, list.stderr)
	require.Equal(t, "[]", strings.TrimSpace(list.stdout), "nothing was queued")

	bad := e.run([]string{"HANDOFF_SNAPSHOT_MAX_FILE=lots"}, "submit", "--module", "calc.go", "--agent", "exec")
	require.Equal(t, 2, bad.code)
	require.Contains(t, bad.stderr, `HANDOFF_SNAPSHOT_MAX_FILE="lots" is not a whole number of MiB`)
}

// apply on a task with nothing waiting shows the result as it is; apply of
// an unknown task is bad input.
func TestApplyCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.worker()
	g := e.run(nil, "generate", "--module", "calc.go", "--agent", "exec", "--json", "--wait-timeout", "5m")
	require.Equal(t, 0, g.code, g.stderr)
	id := g.stdout[strings.Index(g.stdout, `"task_id": "`)+len(`"task_id": "`):]
	id = id[:strings.Index(id, `"`)]
	a := e.run(nil, "apply", id, "--json")
	require.Equal(t, 0, a.code, a.stderr)
	require.Contains(t, a.stdout, `"where": "worker"`, "the worker saw the workspace and wrote them")
	u := e.run(nil, "apply", "0193a1b2-0000-7000-8000-000000000000")
	require.Equal(t, 2, u.code, u.stderr)
}
