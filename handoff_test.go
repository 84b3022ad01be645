package handoff_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// scripted is an agent whose behaviour a test writes as a Go function: the
// seam every backend plugs into, driven directly.
type scripted struct {
	langs []string
	run   func(ctx context.Context, t *agent.Task) (*agent.Report, error)
}

func (s *scripted) Name() string        { return "scripted" }
func (s *scripted) Languages() []string { return s.langs }
func (s *scripted) Run(ctx context.Context, t *agent.Task) (*agent.Report, error) {
	return s.run(ctx, t)
}

const goodGoTests = agenttest.GoModuleTests

// goWorkspace lays out a git repository holding the calc module.
func goWorkspace(t *testing.T) string {
	t.Helper()
	return testenv.GitRepo(t, map[string]string{"go.mod": "module example.com/calc\n\ngo 1.22\n", "calc.go": agenttest.GoModule})
}

func writeFile(t *testing.T, p, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
}

// open returns a working client on the workspace's default SQLite database.
func open(t *testing.T, ws string, a agent.Agent) *handoff.Client {
	t.Helper()
	c, err := handoff.Open(context.Background(), handoff.Config{Workspace: ws, Agents: []agent.Agent{a},
		DefaultAgent: a.Name(), HeartbeatInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, c.StartWorker(context.Background()))
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func writeTests(body string) func(ctx context.Context, t *agent.Task) (*agent.Report, error) {
	return func(ctx context.Context, t *agent.Task) (*agent.Report, error) {
		p := filepath.Join(t.Dir, filepath.FromSlash(t.Output))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		return &agent.Report{Summary: "wrote tests"}, os.WriteFile(p, []byte(body), 0o644)
	}
}

// TestResultsWakesInProcess: a waiter in the process that ran the task is
// woken by the completion itself. Its poll interval is an hour, so only the
// signal can end the wait before the test's deadline.
func TestResultsWakesInProcess(t *testing.T) {
	t.Parallel()
	ws := goWorkspace(t)
	c := open(t, ws, &scripted{langs: []string{"go"}, run: writeTests(goodGoTests)})
	id, err := c.Submit(context.Background(), handoff.Request{Module: "calc.go"})
	require.NoError(t, err)
	res, err := c.Wait(context.Background(), id, handoff.WaitOptions{Timeout: 3 * time.Minute, PollInterval: time.Hour})
	require.NoError(t, err)
	require.Equal(t, handoff.StateCompleted, res.State)
	require.True(t, res.Success, res.Error)
	require.Equal(t, []string{"calc_test.go"}, res.Files)
	require.Equal(t, 100.0, res.Coverage.After)
	require.Equal(t, 0.0, res.Coverage.Before)
	require.Equal(t, 80.0, res.Coverage.Threshold)
	require.Equal(t, "scripted", res.Agent.Name)
	require.FileExists(t, res.LogPath)
	got, err := os.ReadFile(filepath.Join(ws, "calc_test.go"))
	require.NoError(t, err)
	require.Equal(t, goodGoTests, string(got))
	requireReleased(t, ws, id)
}

// requireReleased waits, with a deadline, for the task's snapshot ref to go:
// the release follows the completion signal.
func requireReleased(t *testing.T, ws, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for hasSnapshotRef(t, ws, id) {
		require.True(t, time.Now().Before(deadline), "the final task's snapshot was never released")
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}

// hasSnapshotRef tells whether the task's snapshot still pins a git ref.
func hasSnapshotRef(t *testing.T, ws, id string) bool {
	t.Helper()
	cmd := exec.Command("git", "show-ref", "--verify", "--quiet", "refs/handoff/"+id)
	cmd.Dir = ws
	return cmd.Run() == nil
}

// TestNoTestWrittenIsNoSuccess: an agent that ends happily without writing
// anything produces a verdict of failure, not a success.
func TestNoTestWrittenIsNoSuccess(t *testing.T) {
	t.Parallel()
	ws := goWorkspace(t)
	c := open(t, ws, &scripted{langs: []string{"go"}, run: func(context.Context, *agent.Task) (*agent.Report, error) {
		return &agent.Report{Summary: "all done!"}, nil
	}})
	res, err := c.Generate(context.Background(), handoff.Request{Module: "calc.go", MaxRounds: 1},
		handoff.WaitOptions{Timeout: 3 * time.Minute})
	require.NoError(t, err)
	require.Equal(t, handoff.StateCompleted, res.State)
	require.False(t, res.Success)
	require.Empty(t, res.Tests.Kept)
	require.Empty(t, res.Files)
	require.NoFileExists(t, filepath.Join(ws, "calc_test.go"))
}

// TestThresholdAlreadyMet: when the existing tests already cover the module
// to the threshold, the task succeeds with nothing added, and the agent is
// stopped as soon as the baseline says so: this one would otherwise work
// until its context ends.
func TestThresholdAlreadyMet(t *testing.T) {
	t.Parallel()
	ws := testenv.GitRepo(t, map[string]string{"go.mod": "module example.com/calc\n\ngo 1.22\n",
		"calc.go": agenttest.GoModule, "calc_test.go": goodGoTests})
	stopped := make(chan error, 1)
	c := open(t, ws, &scripted{langs: []string{"go"}, run: func(ctx context.Context, _ *agent.Task) (*agent.Report, error) {
		<-ctx.Done()
		stopped <- context.Cause(ctx)
		return nil, ctx.Err()
	}})
	res, err := c.Generate(context.Background(), handoff.Request{Module: "calc.go"}, handoff.WaitOptions{Timeout: 3 * time.Minute})
	require.NoError(t, err)
	require.Equal(t, handoff.StateCompleted, res.State)
	require.True(t, res.Success, res.Error)
	require.Equal(t, 100.0, res.Coverage.Before)
	require.Equal(t, 100.0, res.Coverage.After)
	require.Empty(t, res.Tests.Kept)
	require.Empty(t, res.Files)
	require.Equal(t, 1, res.Rounds)
	require.Contains(t, res.Apply.Reason, "nothing to add")
	require.Contains(t, res.Agent.Summary, "stopped")
	require.ErrorContains(t, <-stopped, "already reach the coverage threshold")
	got, err := os.ReadFile(filepath.Join(ws, "calc_test.go"))
	require.NoError(t, err)
	require.Equal(t, goodGoTests, string(got), "the user's test file is left as it was")
}

// TestChangedOutputIsNeverOverwritten: the user writes the output file while
// the task runs; handoff leaves it alone and says why.
func TestChangedOutputIsNeverOverwritten(t *testing.T) {
	t.Parallel()
	ws := goWorkspace(t)
	mine := "package calc\n\n// written by a person while the agent ran\n"
	c := open(t, ws, &scripted{langs: []string{"go"}, run: func(ctx context.Context, at *agent.Task) (*agent.Report, error) {
		writeFile(t, filepath.Join(ws, "calc_test.go"), mine)
		return writeTests(goodGoTests)(ctx, at)
	}})
	res, err := c.Generate(context.Background(), handoff.Request{Module: "calc.go"}, handoff.WaitOptions{Timeout: 3 * time.Minute})
	require.NoError(t, err)
	require.True(t, res.Success, "the tests are good; only the apply is refused")
	require.Empty(t, res.Files)
	require.False(t, res.Apply.Applied)
	require.Contains(t, res.Apply.Reason, "calc_test.go")
	got, err := os.ReadFile(filepath.Join(ws, "calc_test.go"))
	require.NoError(t, err)
	require.Equal(t, mine, string(got))
}

// TestStaleModuleIsRechecked: a refactoring changes the module while tests
// are generated; only the tests that still pass against it are applied.
func TestStaleModuleIsRechecked(t *testing.T) {
	t.Parallel()
	ws := goWorkspace(t)
	refactored := strings.Replace(agenttest.GoModule, "return -n", "return n * -1 * 0", 1) // Abs(-4) now 0
	c := open(t, ws, &scripted{langs: []string{"go"}, run: func(ctx context.Context, at *agent.Task) (*agent.Report, error) {
		writeFile(t, filepath.Join(ws, "calc.go"), refactored)
		return writeTests(goodGoTests)(ctx, at)
	}})
	res, err := c.Generate(context.Background(), handoff.Request{Module: "calc.go"}, handoff.WaitOptions{Timeout: 3 * time.Minute})
	require.NoError(t, err)
	require.True(t, res.Apply.Stale)
	require.Equal(t, []string{"TestAbs"}, res.Apply.Redropped)
	got, err := os.ReadFile(filepath.Join(ws, "calc_test.go"))
	require.NoError(t, err)
	require.Contains(t, string(got), "func TestAdd")
	require.NotContains(t, string(got), "func TestAbs")
	require.Equal(t, refactored, string(must(os.ReadFile(filepath.Join(ws, "calc.go")))), "the user's module is untouched")
}

// TestPythonModule: the default output mirrors the package path under
// tests/, and pytest with coverage.py judge the tests.
func TestPythonModule(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/bin/python3"); err != nil || exec.Command("/usr/bin/python3", "-c", "import pytest, coverage").Run() != nil {
		testenv.Missing(t, "pytest and coverage.py", "apt-get install python3-pytest python3-coverage")
	}
	ws := testenv.GitRepo(t, map[string]string{"pkg/__init__.py": "", "pkg/calc.py": agenttest.PythonModule})
	tests := "from pkg.calc import add, absolute\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_absolute():\n    assert absolute(-2) == 2\n    assert absolute(3) == 3\n"
	c := open(t, ws, &scripted{langs: []string{"python"}, run: writeTests(tests)})
	res, err := c.Generate(context.Background(), handoff.Request{Module: "pkg/calc.py"}, handoff.WaitOptions{Timeout: 3 * time.Minute})
	require.NoError(t, err)
	require.True(t, res.Success, "%+v", res)
	require.Equal(t, "tests/pkg/test_calc.py", res.Output)
	require.Equal(t, []string{"tests/pkg/test_calc.py"}, res.Files)
	require.Equal(t, 100.0, res.Coverage.After)
}

func TestCancelQueuedTask(t *testing.T) {
	t.Parallel()
	ws := goWorkspace(t)
	c, err := handoff.Open(context.Background(), handoff.Config{Workspace: ws,
		Agents: []agent.Agent{&scripted{langs: []string{"go"}, run: writeTests(goodGoTests)}}, DefaultAgent: "scripted"})
	require.NoError(t, err)
	defer c.Close(context.Background())
	id, err := c.Submit(context.Background(), handoff.Request{Module: "calc.go"})
	require.NoError(t, err)
	require.True(t, hasSnapshotRef(t, ws, id), "a queued task keeps its snapshot")
	st, err := c.Cancel(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, handoff.StateCancelled, st.State)
	res, err := c.Wait(context.Background(), id, handoff.WaitOptions{Timeout: time.Second})
	require.NoError(t, err)
	require.Equal(t, handoff.StateCancelled, res.State)
	require.False(t, res.Success)
	requireReleased(t, ws, id)
}

// A package module counts as moved when one of its files was deleted since
// the snapshot, not only when a file still there changed: the kept tests are
// re-run against the package as it is now.
func TestStalePackageWithDeletedFile(t *testing.T) {
	t.Parallel()
	ws := testenv.GitRepo(t, map[string]string{
		"go.mod":   "module example.com/lib\n\ngo 1.22\n",
		"lib/a.go": "package lib\n\n// A is one.\nfunc A() int { return 1 }\n",
		"lib/b.go": "package lib\n\n// B is two.\nfunc B() int { return 2 }\n",
	})
	tests := "package lib\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {\n\tif A() != 1 {\n\t\tt.Fatal(A())\n\t}\n}\n"
	c := open(t, ws, &scripted{langs: []string{"go"}, run: func(ctx context.Context, at *agent.Task) (*agent.Report, error) {
		require.NoError(t, os.Remove(filepath.Join(ws, "lib", "b.go"))) // the user deletes a file meanwhile
		return writeTests(tests)(ctx, at)
	}})
	res, err := c.Generate(context.Background(), handoff.Request{Module: "lib", Output: "lib/lib_test.go", Coverage: handoff.Coverage(50)},
		handoff.WaitOptions{Timeout: 3 * time.Minute})
	require.NoError(t, err)
	require.True(t, res.Success, res.Error)
	require.True(t, res.Apply.Stale, "a deleted package file moved the module")
	require.Empty(t, res.Apply.Redropped)
	require.FileExists(t, filepath.Join(ws, "lib", "lib_test.go"))
	require.NoFileExists(t, filepath.Join(ws, "lib", "b.go"), "the user's deletion stands")
}

func TestSubmitDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	ws := goWorkspace(t)
	writeFile(t, filepath.Join(ws, "lib", "lib.go"), "package lib\n\nfunc F() int { return 1 }\n")
	writeFile(t, filepath.Join(ws, "lib", "lib_test.go"), "package lib\n")
	c, err := handoff.Open(context.Background(), handoff.Config{Workspace: ws,
		Agents: []agent.Agent{&scripted{langs: []string{"go"}, run: writeTests(goodGoTests)}}, DefaultAgent: "scripted"})
	require.NoError(t, err)
	defer c.Close(context.Background())
	ctx := context.Background()

	id, err := c.Submit(ctx, handoff.Request{Module: "lib/lib.go"})
	require.NoError(t, err)
	st, err := c.Status(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "lib/lib_handoff_test.go", st.Output, "an existing _test.go is never the default output")
	require.Equal(t, handoff.StateQueued, st.State)
	require.Equal(t, 3, st.MaxAttempts)

	_, err = c.Submit(ctx, handoff.Request{Module: "calc.go", Coverage: handoff.Coverage(-1)})
	require.ErrorIs(t, err, handoff.ErrInvalidRequest)
	_, err = c.Submit(ctx, handoff.Request{Module: "calc.go", Timeout: 48 * time.Hour})
	require.ErrorIs(t, err, handoff.ErrInvalidRequest)
	_, err = c.Status(ctx, "nope")
	require.ErrorIs(t, err, handoff.ErrNotFound)

	list, err := c.List(ctx, handoff.ListFilter{})
	require.NoError(t, err)
	require.Len(t, list, 1, "rejected requests create no task")
}

// SubmitMany: every request is checked before anything is created, the
// tasks share one state of the workspace, and idempotency keys hold across
// batches and within one.
func TestSubmitMany(t *testing.T) {
	t.Parallel()
	ws := goWorkspace(t)
	writeFile(t, filepath.Join(ws, "lib", "lib.go"), "package lib\n\nfunc F() int { return 1 }\n")
	c, err := handoff.Open(context.Background(), handoff.Config{Workspace: ws,
		Agents: []agent.Agent{&scripted{langs: []string{"go"}, run: writeTests(goodGoTests)}}, DefaultAgent: "scripted"})
	require.NoError(t, err)
	defer c.Close(context.Background())
	ctx := context.Background()

	_, err = c.SubmitMany(ctx, []handoff.Request{{Module: "calc.go"}, {Module: "missing.go"}, {Module: "lib/lib.go"}})
	require.ErrorIs(t, err, handoff.ErrInvalidRequest)
	require.ErrorContains(t, err, "request 2 of 3 (module missing.go)")
	list, err := c.List(ctx, handoff.ListFilter{})
	require.NoError(t, err)
	require.Empty(t, list, "one bad request, no task at all")
	require.Empty(t, gitOut(t, ws, "for-each-ref", "refs/handoff/"), "and no snapshot left behind")

	reqs := []handoff.Request{{Module: "calc.go", IdempotencyKey: "k-calc"}, {Module: "lib/lib.go", IdempotencyKey: "k-lib"}}
	ids, err := c.SubmitMany(ctx, reqs)
	require.NoError(t, err)
	require.Len(t, ids, 2)
	require.NotEqual(t, ids[0], ids[1])
	for i, id := range ids {
		st, err := c.Status(ctx, id)
		require.NoError(t, err)
		require.Equal(t, handoff.StateQueued, st.State)
		require.Equal(t, reqs[i].Module, st.Module)
	}
	require.Equal(t, gitOut(t, ws, "rev-parse", "refs/handoff/"+ids[0]), gitOut(t, ws, "rev-parse", "refs/handoff/"+ids[1]),
		"tasks submitted together start from one state of the workspace")

	again, err := c.SubmitMany(ctx, reqs)
	require.NoError(t, err)
	require.Equal(t, ids, again, "same keys, same requests: the same tasks")
	_, err = c.SubmitMany(ctx, []handoff.Request{{Module: "calc.go", IdempotencyKey: "k-new"}, {Module: "lib/lib.go", IdempotencyKey: "k-new"}})
	require.ErrorIs(t, err, handoff.ErrIdempotencyConflict)
	list, err = c.List(ctx, handoff.ListFilter{})
	require.NoError(t, err)
	require.Len(t, list, 2)
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestRoundsStopWhenARoundAddsNothing: an agent that says nothing of what
// it added (exec, say) and writes the same tests again gets no further
// round once verification shows a round kept no new test and coverage did
// not move; one that keeps adding goes on.
func TestRoundsStopWhenARoundAddsNothing(t *testing.T) {
	t.Parallel()
	const onlyAdd = `package calc

import "testing"

func TestAdd(t *testing.T) {
	if Add(2, 3) != 5 {
		t.Fatal("Add(2, 3) != 5")
	}
}
`
	ws := goWorkspace(t)
	var rounds atomic.Int32
	c := open(t, ws, &scripted{langs: []string{"go"}, run: func(ctx context.Context, at *agent.Task) (*agent.Report, error) {
		rounds.Add(1)
		return writeTests(onlyAdd)(ctx, at)
	}})
	res, err := c.Generate(context.Background(), handoff.Request{Module: "calc.go", MaxRounds: 5},
		handoff.WaitOptions{Timeout: 3 * time.Minute})
	require.NoError(t, err)
	require.False(t, res.Success)
	require.Equal(t, []string{"TestAdd"}, res.Tests.Kept)
	require.Equal(t, 2, res.Rounds, "round 2 kept nothing new and coverage stayed: no round 3")
	require.EqualValues(t, 2, rounds.Load())
	require.Regexp(t, `Repair rounds stopped after round 2 of 5: verification kept no new test and coverage stayed at \d+\.\d%\.$`, res.Agent.Summary)
	log, err := os.ReadFile(res.LogPath)
	require.NoError(t, err)
	require.Contains(t, string(log), "round 2 added nothing")
}

// TestRepairRound: a round that falls short sends the verification report
// back to the agent, whose next round is judged again; rounds stop once the
// threshold is met.
func TestRepairRound(t *testing.T) {
	t.Parallel()
	ws := goWorkspace(t)
	const failing = `package calc

import "testing"

func TestAddWrong(t *testing.T) {
	if Add(2, 2) != 5 {
		t.Fatal("Add(2, 2) != 5")
	}
}
`
	var seen []*agent.Feedback
	c := open(t, ws, &scripted{langs: []string{"go"}, run: func(ctx context.Context, at *agent.Task) (*agent.Report, error) {
		seen = append(seen, at.Feedback)
		if at.Feedback == nil {
			return writeTests(failing)(ctx, at)
		}
		return writeTests(goodGoTests)(ctx, at)
	}})
	res, err := c.Generate(context.Background(), handoff.Request{Module: "calc.go", MaxRounds: 3},
		handoff.WaitOptions{Timeout: 3 * time.Minute})
	require.NoError(t, err)
	require.True(t, res.Success, "%+v", res)
	require.Equal(t, 2, res.Rounds, "no third round once the threshold is met")
	require.Len(t, seen, 2)
	require.Nil(t, seen[0])
	require.NotNil(t, seen[1])
	require.Equal(t, "TestAddWrong", seen[1].Dropped[0].Name)
	require.Equal(t, "failed", seen[1].Dropped[0].Reason)
	require.Contains(t, res.Tests.Dropped, agent.Dropped{Name: "TestAddWrong", Reason: "failed",
		Excerpt: res.Tests.Dropped[0].Excerpt}, "drops of earlier rounds stay in the result")
	require.ElementsMatch(t, []string{"TestAdd", "TestAbs", "TestDiv"}, res.Tests.Kept)
}

// TestApplyModes: with the default "improved", tests that raise coverage are
// written even below the threshold, and success still tells the truth;
// "success" writes nothing below the threshold.
func TestApplyModes(t *testing.T) {
	t.Parallel()
	const partial = `package calc

import "testing"

func TestAdd(t *testing.T) {
	if Add(2, 3) != 5 {
		t.Fatal("Add(2, 3) != 5")
	}
}
`
	for _, mode := range []handoff.ApplyMode{handoff.ApplyImproved, handoff.ApplySuccess} {
		ws := goWorkspace(t)
		c := open(t, ws, &scripted{langs: []string{"go"}, run: writeTests(partial)})
		res, err := c.Generate(context.Background(), handoff.Request{Module: "calc.go", Apply: mode, MaxRounds: 1},
			handoff.WaitOptions{Timeout: 3 * time.Minute})
		require.NoError(t, err)
		require.False(t, res.Success, "one test does not reach 80 %%")
		require.Greater(t, res.Coverage.After, res.Coverage.Before)
		require.Equal(t, []string{"TestAdd"}, res.Tests.Kept)
		if mode == handoff.ApplyImproved {
			require.Equal(t, []string{"calc_test.go"}, res.Files, "progress is never thrown away")
			require.FileExists(t, filepath.Join(ws, "calc_test.go"))
		} else {
			require.Empty(t, res.Files)
			require.Contains(t, res.Apply.Reason, "threshold was not met")
			require.NoFileExists(t, filepath.Join(ws, "calc_test.go"))
		}
	}
}
