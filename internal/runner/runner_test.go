package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/agenttest"
	agentexec "github.com/handoff-dev/handoff/agent/exec"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/database"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/runner"
	"github.com/handoff-dev/handoff/internal/snapstore"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/testenv"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// bundle is a workspace with a Go module, its snapshot stored in a fresh
// SQLite database, and a runner whose exec agent writes tests covering
// the whole module.
type bundle struct {
	ws  string
	rec *store.Record
	r   *runner.Runner
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	ws := testenv.GitRepo(t, map[string]string{"go.mod": "module example.com/calc\n\ngo 1.22\n", "calc.go": agenttest.GoModule})
	db, err := database.Open(ctx, filepath.Join(t.TempDir(), "handoff.db"), database.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	snaps := &snapstore.Store{DB: db.SQL}
	const id = "01a2363f-aaca-7324-b95c-35ed8832f1ef"
	snap, err := workspace.Take(ctx, ws, id)
	require.NoError(t, err)
	snap, _, err = snap.Store(ctx, snaps)
	require.NoError(t, err)
	cover := 80.0
	rec := &store.Record{ID: id, Language: "go", Snapshot: snap, CreatedAt: time.Now(), State: handofftype.StateRunning,
		Request: handofftype.Request{Workspace: ws, Module: "calc.go", Output: "calc_test.go", Coverage: &cover, Agent: "exec",
			Runs: 1, MaxRounds: 1, MaxAttempts: 1, TestTimeout: time.Minute, Apply: handofftype.ApplyImproved}}
	writer := agentexec.New(agentexec.Config{Command: "cat > \"$HANDOFF_OUTPUT_PATH\" <<'GO'\n" + agenttest.GoModuleTests + "GO"})
	r := &runner.Runner{Agents: map[string]agent.Agent{"exec": writer}, Snapshots: snaps, WorkDir: t.TempDir()}
	return &bundle{ws: ws, rec: rec, r: r}
}

func env() *engine.Env {
	return &engine.Env{Attempt: 1, Progress: func(string) {}, Confirm: func(context.Context) error { return nil }}
}

// A worker that sees the workspace writes the kept tests into it.
func TestRunWhereTheWorkspaceIs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, err := b.r.Run(context.Background(), b.rec, env())
	require.NoError(t, err)
	require.True(t, res.Success, res.Error)
	require.True(t, res.Apply.Applied)
	require.Equal(t, "worker", res.Apply.Where)
	require.False(t, res.Apply.Pending)
	require.FileExists(t, filepath.Join(b.ws, "calc_test.go"))
	require.Equal(t, filepath.Join(b.ws, ".handoff", "tasks", b.rec.ID, "agent.log"), res.LogPath)
}

// A worker that does not see the workspace (its snapshot ref is not there)
// works from the database in its own directory and leaves the kept tests
// waiting; applying them where the workspace is writes them.
func TestRunElsewhereThenApply(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	require.NoError(t, b.rec.Snapshot.Release(ctx)) // as on another machine: no ref of this task here
	require.False(t, b.rec.Snapshot.Here(ctx))

	res, err := b.r.Run(ctx, b.rec, env())
	require.NoError(t, err)
	require.True(t, res.Success, res.Error)
	require.True(t, res.Apply.Pending)
	require.False(t, res.Apply.Applied)
	require.Contains(t, res.KeptFiles, "calc_test.go")
	require.NoFileExists(t, filepath.Join(b.ws, "calc_test.go"), "the worker wrote nothing into the workspace")
	require.Equal(t, filepath.Join(b.r.WorkDir, ".handoff", "tasks", b.rec.ID, "agent.log"), res.LogPath)
	log, err := os.ReadFile(res.LogPath)
	require.NoError(t, err)
	require.Contains(t, string(log), "is not on this machine")

	require.NoError(t, b.r.ApplyWaiting(ctx, b.rec, res, res.KeptFiles))
	require.True(t, res.Apply.Applied)
	require.False(t, res.Apply.Pending)
	require.Equal(t, "submitter", res.Apply.Where)
	got, err := os.ReadFile(filepath.Join(b.ws, "calc_test.go"))
	require.NoError(t, err)
	require.Equal(t, string(res.KeptFiles["calc_test.go"]), string(got))
}

// A record without a snapshot is refused, not run.
func TestRunRefusesARecordWithoutSnapshot(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.rec.Snapshot = workspace.Snapshot{}
	_, err := b.r.Run(context.Background(), b.rec, env())
	require.ErrorContains(t, err, "holds no workspace snapshot")
}
