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
	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/snapstore"
)

// TestSubmitTree: a workspace that exists only as a stored tree (its
// folder is on another machine) is validated as Submit validates one on
// disk, with the same messages naming the submitter's path; its task runs
// from the tree and its kept tests wait for the submitter.
func TestSubmitTree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	server := t.TempDir()
	c, err := handoff.Open(ctx, handoff.Config{Workspace: server, WorkDir: t.TempDir(),
		Agents:       []agent.Agent{&scripted{langs: []string{"go"}, run: writeTests(goodGoTests)}},
		DefaultAgent: "scripted", HeartbeatInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(context.Background()) })

	elsewhere := t.TempDir() // the submitter's files, never named to the client
	writeFile(t, filepath.Join(elsewhere, "go.mod"), "module example.com/calc\n\ngo 1.22\n")
	writeFile(t, filepath.Join(elsewhere, "calc.go"), agenttest.GoModule)
	tree, _, err := c.Snapshots().Put(ctx, &snapstore.Dir{Root: elsewhere})
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(elsewhere))

	const ws = "/home/dev/calc" // the submitter's path: nothing is there here
	_, err = c.SubmitTree(ctx, tree, []handoff.Request{{Workspace: ws, Module: "nope.go"}})
	require.ErrorIs(t, err, handoff.ErrInvalidRequest)
	require.EqualError(t, err, "invalid request: Request.Module: nope.go does not exist in /home/dev/calc; give a path relative to the workspace or working directory")
	_, err = c.SubmitTree(ctx, tree, []handoff.Request{{Workspace: ws, Module: "calc.go", Coverage: handoff.Coverage(120)}})
	require.EqualError(t, err, "invalid request: Request.Coverage: coverage 120 is outside 0..100; give a percentage such as 80")
	_, err = c.SubmitTree(ctx, tree, []handoff.Request{{Workspace: ws, Module: "/elsewhere/calc.go"}})
	require.ErrorContains(t, err, "/elsewhere/calc.go is not inside the workspace /home/dev/calc")
	_, err = c.SubmitTree(ctx, "0000000000000000000000000000000000000000000000000000000000000000", []handoff.Request{{Workspace: ws, Module: "calc.go"}})
	require.ErrorIs(t, err, handoff.ErrInvalidRequest)
	require.ErrorContains(t, err, "is not in the database; store the workspace first")

	req := handoff.Request{Workspace: ws, Module: ws + "/calc.go", IdempotencyKey: "tree-1"}
	ids, err := c.SubmitTree(ctx, tree, []handoff.Request{req})
	require.NoError(t, err)
	again, err := c.SubmitTree(ctx, tree, []handoff.Request{req})
	require.NoError(t, err)
	require.Equal(t, ids, again, "the idempotency key names the same task")
	_, err = c.SubmitTree(ctx, tree, []handoff.Request{{Workspace: ws, Module: "calc.go", IdempotencyKey: "tree-1", Runs: 2}})
	require.ErrorIs(t, err, handoff.ErrIdempotencyConflict)

	st, err := c.Status(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, ws, st.Workspace)
	require.Equal(t, "calc.go", st.Module)
	require.Equal(t, "calc_test.go", st.Output)

	require.NoError(t, c.StartWorker(ctx))
	res, err := c.Wait(ctx, ids[0], handoff.WaitOptions{Timeout: 3 * time.Minute, PollInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	require.True(t, res.Success, res.Error)
	require.True(t, res.Apply.Pending, "the workspace is the submitter's: the kept tests wait")
	files, err := c.TaskStore().KeptFiles(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, goodGoTests, string(files["calc_test.go"]))
	_, err = c.Apply(ctx, ids[0])
	require.ErrorIs(t, err, handoff.ErrNotHere)

	done, err := c.RecordApplied(ctx, ids[0], handofftype.ApplyInfo{Applied: true}, []string{"calc_test.go"})
	require.NoError(t, err)
	require.Equal(t, "submitter", done.Apply.Where)
	require.False(t, done.Apply.Pending)
	require.Equal(t, []string{"calc_test.go"}, done.Files)
	files, err = c.TaskStore().KeptFiles(ctx, ids[0])
	require.NoError(t, err)
	require.Empty(t, files, "applied: no longer waiting")
	res, err = c.Wait(ctx, ids[0], handoff.WaitOptions{})
	require.NoError(t, err)
	require.Equal(t, "submitter", res.Apply.Where)
}
