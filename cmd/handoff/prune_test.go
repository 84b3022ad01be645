package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// prune and worker --prune-older-than, as separate processes: bad input is
// refused with the fix, a dry run removes nothing, --json says what went,
// and a worker prunes when it starts.
func TestPruneCommand(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		for _, c := range []struct{ args []string }{
			{[]string{"prune"}},
			{[]string{"prune", "--older-than", "soon"}},
			{[]string{"prune", "--keep-last", "-1"}},
			{[]string{"worker", "--prune-older-than", "a week"}},
		} {
			r := e.run(nil, c.args...)
			require.Equal(t, 2, r.code, "%v: %s", c.args, r.stderr)
			require.Contains(t, r.stderr, "--", c.args)
		}

		cancelled := func() string {
			r := e.run(nil, "submit", "--module", "calc.go")
			require.Equal(t, 0, r.code, r.stderr)
			id := strings.TrimSpace(r.stdout)
			r = e.run(nil, "cancel", id)
			require.Equal(t, 0, r.code, r.stderr)
			return id
		}
		id := cancelled()
		r := e.run(nil, "prune", "--older-than", "1d", "--json")
		require.Equal(t, 0, r.code, r.stderr)
		require.JSONEq(t, `{"dry_run": false, "tasks": [], "snapshots": {"trees": 0, "blobs": 0, "bytes": 0}}`, r.stdout, "the task finished just now")

		r = e.run(nil, "prune", "--older-than", "1ms", "--dry-run", "--json")
		require.Equal(t, 0, r.code, r.stderr)
		var rep struct {
			DryRun bool `json:"dry_run"`
			Tasks  []struct {
				ID    string `json:"task_id"`
				State string `json:"status"`
			} `json:"tasks"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
		require.True(t, rep.DryRun)
		require.Len(t, rep.Tasks, 1)
		require.Equal(t, id, rep.Tasks[0].ID)
		require.Equal(t, "CANCELLED", rep.Tasks[0].State)
		e.status(id) // still there

		r = e.run(nil, "prune", "--older-than", "1ms")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, id)
		require.Contains(t, r.stderr, "removed 1 finished task(s)")
		r = e.run(nil, "status", id)
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, "task not found")

		// A worker given a retention prunes as it starts.
		id = cancelled()
		w := e.run(nil, "worker", "--idle-exit", "1s", "--prune-older-than", "1ms")
		require.Equal(t, 0, w.code, w.stderr)
		require.Contains(t, w.stderr, "pruned finished tasks")
		r = e.run(nil, "status", id)
		require.Equal(t, 2, r.code, "the worker left %s: %s", id, r.stdout)
	})
}
