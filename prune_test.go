package handoff_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/database"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// Prune removes finished tasks with everything they left (record, agent
// state, River job, snapshot ref, task directory), keeps the newest ones it
// is told to keep, and never touches a queued or running task.
func TestPrune(t *testing.T) {
	t.Parallel()
	for name, url := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "handoff.db") },
		"postgres": func(t *testing.T) string { return testenv.PostgresSchema(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testPrune(t, url(t))
		})
	}
}

func testPrune(t *testing.T, dbURL string) {
	ctx := context.Background()
	ws := goWorkspace(t)
	a := &scripted{langs: []string{"go"}, run: func(ctx context.Context, at *agent.Task) (*agent.Report, error) {
		if err := at.State.Put(ctx, "conversation", "c-"+at.ID); err != nil {
			return nil, err
		}
		if at.Output == "blocked_test.go" { // runs until cancelled
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return writeTests(goodGoTests)(ctx, at)
	}}
	c, err := handoff.Open(ctx, handoff.Config{Workspace: ws, DatabaseURL: dbURL, Agents: []agent.Agent{a},
		DefaultAgent: a.Name(), Workers: 1, HeartbeatInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	defer c.Close(context.Background())
	require.NoError(t, c.StartWorker(ctx))

	// Two finished tasks, one after the other.
	finished := make([]string, 2)
	for i, out := range []string{"a_test.go", "b_test.go"} {
		id, err := c.Submit(ctx, handoff.Request{Module: "calc.go", Output: out, Runs: 1, Apply: handoff.ApplyNever})
		require.NoError(t, err)
		res, err := c.Wait(ctx, id, handoff.WaitOptions{Timeout: 5 * time.Minute})
		require.NoError(t, err)
		require.Equal(t, handoff.StateCompleted, res.State, res.Error)
		require.DirExists(t, taskDir(ws, id))
		requireReleased(t, ws, id)
		finished[i] = id
	}
	older, newer := finished[0], finished[1]
	// A worker that died between recording the verdict and releasing the
	// snapshot leaves the ref behind.
	gitOut(t, ws, "update-ref", "refs/handoff/"+older, gitOut(t, ws, "rev-parse", "HEAD^{tree}"))

	// One running task (the only worker slot is busy with it) and one queued.
	running, err := c.Submit(ctx, handoff.Request{Module: "calc.go", Output: "blocked_test.go"})
	require.NoError(t, err)
	deadline := time.Now().Add(2 * time.Minute) // a worker's fetch is 50 ms; generous for a loaded machine
	for st := must(c.Status(ctx, running)); st.State != handoff.StateRunning; st = must(c.Status(ctx, running)) {
		require.True(t, time.Now().Before(deadline), "the task never started: %+v", st)
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	queued, err := c.Submit(ctx, handoff.Request{Module: "calc.go", Output: "c_test.go"})
	require.NoError(t, err)
	defer c.Cancel(ctx, running) //nolint:errcheck // lets the worker stop at once

	db, err := database.Open(ctx, dbURL, database.Options{})
	require.NoError(t, err)
	defer db.Close()
	count := func(q string, arg any) int {
		var n int
		require.NoError(t, db.SQL.QueryRowContext(ctx, q, arg).Scan(&n))
		return n
	}
	// River completes a job just after its worker recorded the verdict;
	// until then prune leaves the task alone.
	for count(`SELECT COUNT(*) FROM river_job WHERE CAST(state AS TEXT) = $1`, "completed") < 2 {
		require.True(t, time.Now().Before(deadline), "River never completed the finished tasks' jobs")
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}

	_, err = c.Prune(ctx, handoff.PruneOptions{})
	require.ErrorIs(t, err, handoff.ErrInvalidRequest, "a prune that says nothing must not remove everything")
	rep, err := c.Prune(ctx, handoff.PruneOptions{OlderThan: time.Hour})
	require.NoError(t, err)
	require.Empty(t, rep.Tasks, "both tasks finished within the hour")

	// A dry run says what would go and removes nothing.
	dry, err := c.Prune(ctx, handoff.PruneOptions{OlderThan: time.Nanosecond, KeepLast: 1, DryRun: true})
	require.NoError(t, err)
	require.True(t, dry.DryRun)
	require.Len(t, dry.Tasks, 1)
	p := dry.Tasks[0]
	require.Equal(t, older, p.ID)
	require.Equal(t, handoff.StateCompleted, p.State)
	require.Equal(t, "refs/handoff/"+older, p.Snapshot)
	require.Equal(t, taskDir(ws, older), p.Logs)
	require.Equal(t, 1, p.AgentState)
	require.NotZero(t, p.JobID, "River keeps a completed job for a day")
	require.True(t, hasSnapshotRef(t, ws, older))
	require.DirExists(t, taskDir(ws, older))
	_, err = c.Status(ctx, older)
	require.NoError(t, err)

	rep, err = c.Prune(ctx, handoff.PruneOptions{OlderThan: time.Nanosecond, KeepLast: 1})
	require.NoError(t, err)
	require.False(t, rep.DryRun)
	require.Empty(t, rep.Skipped)
	require.Equal(t, dry.Tasks, rep.Tasks)
	_, err = c.Status(ctx, older)
	require.ErrorIs(t, err, handoff.ErrNotFound)
	require.False(t, hasSnapshotRef(t, ws, older))
	require.NoDirExists(t, taskDir(ws, older))
	require.Zero(t, count(`SELECT COUNT(*) FROM river_job WHERE id = $1`, p.JobID))
	require.Zero(t, count(`SELECT COUNT(*) FROM handoff_task_state WHERE task_id = $1`, older))

	// The newest finished task was kept; so were the live ones, with their
	// state, snapshot and job.
	require.DirExists(t, taskDir(ws, newer))
	require.Equal(t, 1, count(`SELECT COUNT(*) FROM handoff_task_state WHERE task_id = $1`, newer))

	rep, err = c.Prune(ctx, handoff.PruneOptions{OlderThan: time.Nanosecond})
	require.NoError(t, err)
	require.Len(t, rep.Tasks, 1)
	require.Equal(t, newer, rep.Tasks[0].ID)
	require.NoDirExists(t, taskDir(ws, newer))
	for id, want := range map[string]handoff.State{running: handoff.StateRunning, queued: handoff.StateQueued} {
		st, err := c.Status(ctx, id)
		require.NoError(t, err)
		require.Equal(t, want, st.State)
		require.True(t, hasSnapshotRef(t, ws, id), "a live task keeps its snapshot")
	}
	require.Equal(t, 1, count(`SELECT COUNT(*) FROM handoff_task_state WHERE task_id = $1`, running))
	require.DirExists(t, taskDir(ws, running))
}

func taskDir(ws, id string) string {
	return filepath.Join(ws, ".handoff", "tasks", id)
}

// A task whose workspace is gone (a temporary checkout, another machine
// sharing a PostgreSQL database) is still pruned: its rows go, and nothing
// is left to release.
func TestPruneWorkspaceGone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ws := goWorkspace(t)
	dbPath := filepath.Join(t.TempDir(), "handoff.db")
	c, err := handoff.Open(ctx, handoff.Config{Workspace: ws, DatabaseURL: dbPath,
		Agents: []agent.Agent{&scripted{langs: []string{"go"}}}, DefaultAgent: "scripted"})
	require.NoError(t, err)
	defer c.Close(context.Background())
	id, err := c.Submit(ctx, handoff.Request{Module: "calc.go"})
	require.NoError(t, err)
	_, err = c.Cancel(ctx, id)
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(ws))

	rep, err := c.Prune(ctx, handoff.PruneOptions{OlderThan: time.Nanosecond})
	require.NoError(t, err)
	require.Empty(t, rep.Skipped)
	require.Len(t, rep.Tasks, 1)
	require.Equal(t, handoff.StateCancelled, rep.Tasks[0].State)
	require.Empty(t, rep.Tasks[0].Snapshot)
	require.Empty(t, rep.Tasks[0].Logs)
	_, err = c.Status(ctx, id)
	require.ErrorIs(t, err, handoff.ErrNotFound)
}
