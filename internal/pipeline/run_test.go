package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/human"
	"github.com/handoff-dev/handoff/internal/pipeline"
	"github.com/handoff-dev/handoff/internal/pipeline/report"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// testBundle is one run's workspace and captured output: the live view on
// stderr, as the command line shows it, and what report.Write shows and
// writes at the end.
type testBundle struct {
	dir    string
	opts   pipeline.Options
	out    report.Outputs
	stdout *bytes.Buffer
	stderr *testenv.Buffer
}

// setup writes yml as the pipeline file of a fresh workspace holding the
// given files, with options for a quiet, fast run.
func setup(t *testing.T, yml string, tasks pipeline.Tasks, files ...string) *testBundle {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("package x\n"), 0o644))
	}
	file := filepath.Join(dir, "pipeline.yml")
	require.NoError(t, os.WriteFile(file, []byte(yml), 0o644))
	b := &testBundle{dir: dir, stdout: &bytes.Buffer{}, stderr: &testenv.Buffer{}}
	b.out = report.Outputs{Stdout: b.stdout, Stderr: b.stderr}
	b.opts = pipeline.Options{
		File: file, Tasks: tasks, Display: report.NewLive(b.stderr),
		PollInterval: 20 * time.Millisecond, KillGrace: 2 * time.Second,
		Environ: []string{"PATH=" + os.Getenv("PATH")},
	}
	return b
}

func (b *testBundle) exists(name string) bool {
	_, err := os.Stat(filepath.Join(b.dir, name))
	return err == nil
}

func run(t *testing.T, b *testBundle) *pipeline.Summary {
	t.Helper()
	s, err := pipeline.Run(context.Background(), b.opts)
	require.NoError(t, err, "stderr:\n%s", b.stderr)
	out := b.out
	out.Environ = b.opts.Environ
	require.NoError(t, report.Write(s, out))
	return s
}

// waitFor polls cond every 10ms until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitForPeer marks a stage started, then polls (with a deadline) for the
// other stage's mark: it can only succeed if both run at the same time.
const waitForPeer = `touch %s.started
i=0
while [ ! -e %s.started ]; do
  i=$((i+1)); [ $i -gt 1500 ] && { echo "%s never started while I ran"; exit 1; }
  sleep 0.01
done
`

func TestRunParallelStagesOverlap(t *testing.T) {
	t.Parallel()
	b := setup(t, `
stages:
  a:
    run: |
`+indentLines(fmt.Sprintf(waitForPeer, "a", "b", "b"), "      ")+`
  b:
    run: |
`+indentLines(fmt.Sprintf(waitForPeer, "b", "a", "a"), "      ")+`
  c:
    needs: [a, b]
    run: test -e a.started && test -e b.started && touch c.ran
`, nil)
	s := run(t, b)
	require.Equal(t, pipeline.ExitOK, s.ExitCode(), "stderr:\n%s", b.stderr)
	a, bb, c := s.Stage("a"), s.Stage("b"), s.Stage("c")
	require.Less(t, a.Start, bb.End, "a started before b ended")
	require.Less(t, bb.Start, a.End, "b started before a ended")
	require.GreaterOrEqual(t, c.Start, max(a.End, bb.End), "c waited for both")
	require.True(t, b.exists("c.ran"))
	require.Equal(t, pipeline.ModeParallel, s.Mode)
}

func TestRunBlockingIsSequential(t *testing.T) {
	t.Parallel()
	tasks := newMemTasks(t, 0, succeed)
	b := setup(t, `
stages:
  a:
    run: echo "start a" >> order.log; echo "end a" >> order.log
  gen:
    generate:
      modules: ["*.go"]
  b:
    run: echo "start b" >> order.log; echo "end b" >> order.log
  collect:
    needs: [a, b]
    collect: gen
`, tasks, "m1.go", "m2.go")
	b.opts.Blocking = true
	s := run(t, b)
	require.Equal(t, pipeline.ExitOK, s.ExitCode(), "stderr:\n%s", b.stderr)
	log, err := os.ReadFile(filepath.Join(b.dir, "order.log"))
	require.NoError(t, err)
	require.Equal(t, "start a\nend a\nstart b\nend b\n", string(log))
	// Each task is waited for before the next is submitted: the old way.
	require.Equal(t, []string{"submit m1.go", "done m1.go", "submit m2.go", "done m2.go"}, tasks.events())
	for i := 1; i < len(s.Stages); i++ {
		require.GreaterOrEqual(t, s.Stages[i].Start, s.Stages[i-1].End, "%s overlaps %s", s.Stages[i].Name, s.Stages[i-1].Name)
	}
	require.Equal(t, []string{"a", "gen", "b", "collect"}, stageNames(s))
	require.Equal(t, pipeline.ModeBlocking, s.Mode)
	require.Len(t, s.Tasks, 2)
	for _, tr := range s.Tasks {
		require.True(t, tr.Succeeded())
	}
}

// TestRunGenerateDoesNotBlock: the tasks finish only after a stage that
// needs the generate stage has run, so the run succeeds only if generate
// returned before its tasks were done.
func TestRunGenerateDoesNotBlock(t *testing.T) {
	t.Parallel()
	var dir string
	tasks := newMemTasks(t, 2, func(ctx context.Context, r handofftype.Request) *handofftype.Result {
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			if _, err := os.Stat(filepath.Join(dir, "refactor.done")); err == nil {
				return succeed(ctx, r)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return &handofftype.Result{State: handofftype.StateFailed, Error: "refactor never ran while I worked"}
	})
	b := setup(t, `
concurrency: 2
stages:
  gen:
    generate:
      modules: ["pkg/*.go"]
      coverage: 75
      agent: builtin
      output: "{dir}/{stem}_gen_test.go"
  refactor:
    needs: gen
    run: touch refactor.done
  collect:
    needs: refactor
    collect: gen
`, tasks, "pkg/a.go", "pkg/b.go", "pkg/a_test.go")
	dir = b.dir
	s := run(t, b)
	require.Equal(t, pipeline.ExitOK, s.ExitCode(), "stderr:\n%s", b.stderr)
	require.Equal(t, 2, s.Concurrency)
	require.Len(t, s.Tasks, 2)
	st, err := tasks.Status(context.Background(), s.Tasks[0].ID)
	require.NoError(t, err)
	require.Equal(t, "pkg/a.go", st.Module)
	require.Equal(t, "pkg/a_gen_test.go", st.Output)
	require.Equal(t, "builtin", st.Agent)
	require.Equal(t, s.RunID, st.Labels["run"])
	require.Less(t, s.Stage("refactor").Start, s.Stage("collect").End)
	require.Contains(t, b.stderr.String(), "2 of 2 task(s) succeeded")
}

func TestRunFailingStageStopsDependents(t *testing.T) {
	t.Parallel()
	b := setup(t, `
stages:
  build:
    run: echo "compiler says no" >&2; exit 3
  deploy:
    needs: build
    run: touch deploy.ran
  announce:
    needs: deploy
    run: touch announce.ran
  lint:
    run: exit 1
    continue-on-error: true
  docs:
    needs: lint
    run: touch docs.ran
`, nil)
	s := run(t, b)
	require.Equal(t, pipeline.ExitFailed, s.ExitCode())
	build := s.Stage("build")
	require.Equal(t, pipeline.StageFailed, build.Status)
	require.Equal(t, 3, *build.ExitCode)
	require.Contains(t, build.Error, "exit code 3")
	logData, err := os.ReadFile(build.LogPath)
	require.NoError(t, err)
	require.Contains(t, string(logData), "compiler says no")
	require.Contains(t, b.stderr.String(), "compiler says no", "the log's tail is shown")

	require.Equal(t, pipeline.StageSkipped, s.Stage("deploy").Status)
	require.Contains(t, s.Stage("deploy").Error, `needs "build", which failed`)
	require.Equal(t, pipeline.StageSkipped, s.Stage("announce").Status)
	require.False(t, b.exists("deploy.ran"))
	require.False(t, b.exists("announce.ran"))

	require.Equal(t, pipeline.StageFailed, s.Stage("lint").Status)
	require.True(t, s.Stage("lint").AllowedFailure)
	require.Equal(t, pipeline.StageSucceeded, s.Stage("docs").Status, "continue-on-error lets dependents run")
	require.True(t, b.exists("docs.ran"))
	require.Contains(t, b.stdout.String(), "Failed: build failed, deploy skipped, announce skipped.")
}

func TestRunStageTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, `
stages:
  slow:
    run: sleep 30
    timeout: 200ms
`, nil)
	s := run(t, b)
	slow := s.Stage("slow")
	require.Equal(t, pipeline.StageFailed, slow.Status)
	require.True(t, slow.TimedOut)
	require.Contains(t, slow.Error, "timed out after 200ms")
	require.Less(t, slow.Duration(), 10*time.Second)
}

func TestRunEnvironment(t *testing.T) {
	t.Parallel()
	b := setup(t, `
name: envs
env:
  OVERRIDE: pipeline
  P: p
stages:
  show:
    working-directory: sub
    env:
      OVERRIDE: stage
      S: s
    run: printf '%s|%s|%s|%s|%s|%s\n' "$FROM_USER" "$OVERRIDE" "$P" "$S" "$HANDOFF_STAGE" "$(pwd)" > ../env.out
`, nil, "sub/x.go")
	b.opts.Environ = append(b.opts.Environ, "FROM_USER=u", "OVERRIDE=user")
	s := run(t, b)
	require.Equal(t, pipeline.ExitOK, s.ExitCode(), "stderr:\n%s", b.stderr)
	out, err := os.ReadFile(filepath.Join(b.dir, "env.out"))
	require.NoError(t, err)
	sub, err := filepath.EvalSymlinks(filepath.Join(b.dir, "sub"))
	require.NoError(t, err)
	require.Equal(t, "u|stage|p|s|show|"+sub+"\n", string(out))
}

func TestRunInterruptStopsCommandsAndCancelsTasks(t *testing.T) {
	t.Parallel()
	for _, detach := range []bool{false, true} {
		t.Run("detach="+strconv.FormatBool(detach), func(t *testing.T) {
			t.Parallel()
			tasks := newMemTasks(t, 0, block)
			b := setup(t, `
stages:
  gen:
    generate:
      modules: ["*.go"]
  sleeper:
    run: sleep 300 & echo $! > child.pid; wait
  after:
    needs: sleeper
    run: touch after.ran
  collect:
    needs: after
    collect: gen
`, tasks, "a.go")
			b.opts.Detach = detach
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			type outcome struct {
				s   *pipeline.Summary
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				s, err := pipeline.Run(ctx, b.opts)
				done <- outcome{s, err}
			}()
			var child int
			waitFor(t, "the stage's child process", func() bool {
				data, err := os.ReadFile(filepath.Join(b.dir, "child.pid"))
				if err != nil || !strings.HasSuffix(string(data), "\n") {
					return false
				}
				child, err = strconv.Atoi(strings.TrimSpace(string(data)))
				return err == nil
			})
			waitFor(t, "the task to start", func() bool {
				st, _ := tasks.state("a.go")
				return st == handofftype.StateRunning
			})
			require.True(t, processAlive(child))
			cancel() // Ctrl-C

			var o outcome
			select {
			case o = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("Run did not return after its context was cancelled")
			}
			require.NoError(t, o.err)
			s := o.s
			require.True(t, s.Interrupted)
			require.Equal(t, pipeline.ExitInterrupted, s.ExitCode())
			waitFor(t, "the stage's child to be gone", func() bool { return !processAlive(child) })
			require.Equal(t, pipeline.StageCancelled, s.Stage("sleeper").Status)
			require.Equal(t, pipeline.StageCancelled, s.Stage("after").Status)
			require.False(t, s.Stage("after").Started)
			require.False(t, b.exists("after.ran"))
			require.Equal(t, pipeline.StageCancelled, s.Stage("collect").Status)
			state, err := tasks.state("a.go")
			require.NoError(t, err)
			if detach {
				require.Equal(t, handofftype.StateRunning, state, "--detach leaves tasks running")
				require.True(t, s.Detached)
				require.Contains(t, b.stderr.String(), "keep running")
			} else {
				require.Equal(t, handofftype.StateCancelled, state)
				require.Equal(t, handofftype.StateCancelled, s.Tasks[0].State())
			}
		})
	}
}

// processAlive says whether pid runs; a zombie waiting to be reaped by init
// counts as gone.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func TestRunCollectTimeout(t *testing.T) {
	t.Parallel()
	tasks := newMemTasks(t, 0, block)
	b := setup(t, `
stages:
  gen:
    generate:
      modules: ["a.go"]
  collect:
    collect: gen
    timeout: 300ms
`, tasks, "a.go")
	s := run(t, b)
	require.Equal(t, pipeline.ExitFailed, s.ExitCode())
	c := s.Stage("collect")
	require.Equal(t, pipeline.StageFailed, c.Status)
	require.Contains(t, c.Error, "require: all not met: 0 of 1 task(s) succeeded")
	require.Contains(t, c.Error, "they keep running: `handoff wait ID` collects them later")
	require.GreaterOrEqual(t, c.Duration(), 300*time.Millisecond)
	require.Less(t, c.Duration(), 10*time.Second)
	require.Contains(t, s.Tasks[0].WaitError, "still running when collect timed out after 300ms")
	state, err := tasks.state("a.go")
	require.NoError(t, err)
	require.Equal(t, handofftype.StateRunning, state, "a collect timeout does not cancel the task")
}

func TestRunFailedTask(t *testing.T) {
	t.Parallel()
	work := func(_ context.Context, r handofftype.Request) *handofftype.Result {
		if r.Module == "b.go" {
			return &handofftype.Result{State: handofftype.StateFailed, Error: "agent crashed"}
		}
		return succeed(context.Background(), r)
	}
	for _, c := range []struct {
		require string
		exit    int
	}{{"all", pipeline.ExitFailed}, {"any", pipeline.ExitOK}, {"none", pipeline.ExitOK}} {
		t.Run(c.require, func(t *testing.T) {
			t.Parallel()
			b := setup(t, `
stages:
  gen:
    generate:
      modules: ["*.go"]
  collect:
    collect: gen
    require: `+c.require+`
`, newMemTasks(t, 0, work), "a.go", "b.go")
			s := run(t, b)
			require.Equal(t, c.exit, s.ExitCode(), "stderr:\n%s", b.stderr)
			if c.exit == pipeline.ExitFailed {
				require.Contains(t, s.Stage("collect").Error, "b.go: FAILED: agent crashed")
			}
			mods := s.Modules()
			require.Len(t, mods, 2)
			require.Equal(t, pipeline.ModuleRow{Module: "a.go", TaskID: mods[0].TaskID, State: "COMPLETED", Success: true,
				Kept: 2, CoverageBefore: 10, CoverageAfter: 90, Threshold: 80, HasResult: true}, mods[0])
			require.Equal(t, "FAILED", mods[1].State)
			require.Equal(t, "agent crashed", mods[1].Note)
			require.Contains(t, b.stdout.String(), "a.go")
			require.Contains(t, b.stdout.String(), " 10.0% →  90.0%")
		})
	}
}

func TestRunMaxParallel(t *testing.T) {
	t.Parallel()
	b := setup(t, `
stages:
  a: {run: "true"}
  b: {run: "true"}
  c: {run: "true"}
`, nil)
	b.opts.MaxParallel = 1
	s := run(t, b)
	require.Equal(t, pipeline.ExitOK, s.ExitCode())
	for i := 1; i < len(s.Stages); i++ {
		require.GreaterOrEqual(t, s.Stages[i].Start, s.Stages[i-1].End)
	}
}

func TestRunModulesErrorFailsStage(t *testing.T) {
	t.Parallel()
	b := setup(t, `
stages:
  gen:
    generate:
      modules: ["missing/*.go"]
`, newMemTasks(t, 0, succeed))
	s := run(t, b)
	require.Equal(t, pipeline.StageFailed, s.Stage("gen").Status)
	require.Contains(t, s.Stage("gen").Error, `modules pattern "missing/*.go" matched no module`)
	require.Contains(t, s.Stage("gen").Error, "pipeline.yml:5)")
}

func TestRunRejectsBeforeRunning(t *testing.T) {
	t.Parallel()
	b := setup(t, `
stages:
  a:
    run: touch a.ran
  b:
    needs: [nope]
    run: "true"
`, nil)
	_, err := pipeline.Run(context.Background(), b.opts)
	require.ErrorIs(t, err, pipeline.ErrInvalid)
	require.False(t, b.exists("a.ran"), "nothing runs when the file is invalid")

	b = setup(t, "stages: {gen: {generate: {modules: [a.go]}}}", nil, "a.go")
	_, err = pipeline.Run(context.Background(), b.opts)
	require.ErrorContains(t, err, "no task engine")
}

func TestRunOutputs(t *testing.T) {
	t.Parallel()
	b := setup(t, `
name: outputs
stages:
  test:
    run: echo testing
  gen:
    needs: test
    generate:
      modules: ["*.go"]
  collect:
    collect: gen
`, newMemTasks(t, 1, succeed), "a.go")
	b.out.ReportPath = filepath.Join(b.dir, "report.json")
	b.out.TimelinePath = filepath.Join(b.dir, "timeline.svg")
	summaryFile := filepath.Join(b.dir, "step-summary.md")
	require.NoError(t, os.WriteFile(summaryFile, []byte("earlier step\n"), 0o644))
	b.opts.Environ = append(b.opts.Environ, "GITHUB_STEP_SUMMARY="+summaryFile)
	s := run(t, b)
	require.Equal(t, pipeline.ExitOK, s.ExitCode(), "stderr:\n%s", b.stderr)

	data, err := os.ReadFile(b.out.ReportPath)
	require.NoError(t, err)
	var rep pipeline.Report
	require.NoError(t, json.Unmarshal(data, &rep))
	require.Equal(t, "outputs", rep.Pipeline)
	require.True(t, rep.OK)
	require.Len(t, rep.Stages, 3)
	test := rep.Stages[0]
	require.Equal(t, "test", test.Name)
	require.Equal(t, pipeline.StageSucceeded, test.Status)
	require.NotNil(t, test.StartMS)
	require.NotNil(t, test.EndMS)
	require.Equal(t, *test.EndMS-*test.StartMS, test.DurationMS)
	require.Equal(t, 0, *test.ExitCode)
	require.FileExists(t, test.LogPath)
	require.Len(t, rep.Tasks, 1)
	require.NotNil(t, rep.Tasks[0].Result)
	require.Equal(t, handofftype.StateCompleted, rep.Tasks[0].State)
	require.Equal(t, []string{"test", "gen", "collect"}, rep.CriticalPath)
	require.Equal(t, []pipeline.ModuleReport{{Module: "a.go", TaskID: rep.Tasks[0].ID, Status: "COMPLETED", Success: true,
		Kept: 2, CoverageBefore: 10, CoverageAfter: 90, Threshold: 80}}, rep.Modules)

	svg, err := os.ReadFile(b.out.TimelinePath)
	require.NoError(t, err)
	require.NoError(t, xml.Unmarshal(svg, new(struct{})), "well-formed")
	require.GreaterOrEqual(t, strings.Count(string(svg), "<rect "), 4, "one bar per stage and task")
	for _, bar := range []string{"<title>test succeeded", "<title>gen succeeded", "<title>collect succeeded", "<title>a.go COMPLETED"} {
		require.Contains(t, string(svg), bar)
	}

	var page bytes.Buffer
	require.NoError(t, report.WriteHTML(&page, s))
	require.Contains(t, page.String(), "<svg")
	require.Contains(t, page.String(), "<td>a.go</td><td>COMPLETED</td><td>2</td><td>10.0% → 90.0% (threshold 80%)</td>")

	md, err := os.ReadFile(summaryFile)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(md), "earlier step\n### Pipeline `outputs` succeeded"), string(md))
	require.Contains(t, string(md), "| a.go | COMPLETED | 2 | 10.0% → 90.0% (threshold 80%) |")

	require.Contains(t, b.stdout.String(), "critical path")
	require.Contains(t, b.stderr.String(), "test started (run)", "plain event lines when stderr is not a terminal")
	require.NotContains(t, b.stderr.String(), "\x1b[", "no cursor movement when stderr is not a terminal")
}

func stageNames(s *pipeline.Summary) []string {
	var out []string
	for _, r := range s.Stages {
		out = append(out, r.Name)
	}
	return out
}

func indentLines(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}

// TestSavedIsMeasured: a parallel run claims a saving only against a
// recorded blocking run of the same pipeline, and the saving is exactly the
// difference of the two measured wall times.
func TestSavedIsMeasured(t *testing.T) {
	t.Parallel()
	b := setup(t, `name: twoway
stages:
  a: {run: "true"}
  b: {run: "true"}
`, nil)
	first := run(t, b)
	_, measured := first.Saved()
	require.False(t, measured)
	require.Contains(t, b.stdout.String(), "saved               not measured (run once with --blocking to compare)")
	require.NotContains(t, b.stdout.String(), "one at a time")

	b.opts.Blocking = true
	blocking := run(t, b)
	require.Equal(t, pipeline.ModeBlocking, blocking.Mode)

	b.opts.Blocking = false
	b.stdout.Reset()
	parallel := run(t, b)
	saved, measured := parallel.Saved()
	require.True(t, measured)
	want := blocking.Wall.Milliseconds() - parallel.Wall.Milliseconds()
	require.Equal(t, want, saved.Milliseconds())
	require.Equal(t, blocking.RunID, parallel.Blocking.RunID)
	require.Contains(t, b.stdout.String(), "vs. the blocking run of "+blocking.Started.Local().Format("2006-01-02 15:04"))
	require.Equal(t, want, parallel.Report().SavedMS)
}

// TestCompare: Compare runs the pipeline blocking, then parallel, each in a
// scratch copy of the workspace: the user's files are untouched, the
// blocking run is recorded in the workspace as `--blocking` records it, and
// the parallel run's saving line is exactly the difference of the two
// measured wall times.
func TestCompare(t *testing.T) {
	t.Parallel()
	tasks := newMemTasks(t, 0, succeed)
	b := setup(t, `name: both ways
stages:
  a: {run: "echo a > a.out"}
  b: {run: "echo b > b.out"}
  gen:
    generate: {modules: ["x.go"]}
  c: {run: "cat a.out b.out > c.out && rm x.go", needs: [a, b, gen]}
`, tasks, "x.go")
	c := compare(t, b)
	require.Equal(t, pipeline.ExitOK, c.ExitCode(), "stderr:\n%s", b.stderr)
	require.Equal(t, pipeline.ModeBlocking, c.Blocking.Mode)
	require.Equal(t, pipeline.ModeParallel, c.Parallel.Mode)

	for _, f := range []string{"a.out", "b.out", "c.out"} {
		require.False(t, b.exists(f), "%s was written in a copy, not in the workspace", f)
	}
	require.True(t, b.exists("x.go"), "the workspace's files are untouched")
	// Read from the submitted requests: the parallel run has no collect
	// stage, so its task may not have started when Compare returns.
	workspaces := tasks.workspaces()
	require.Len(t, workspaces, 2, "each run submitted from its own copy")
	for ws := range workspaces {
		require.NotEqual(t, b.dir, ws)
		require.NoDirExists(t, ws, "the copies are removed at the end")
	}
	for _, s := range []*pipeline.Summary{c.Blocking, c.Parallel} {
		require.FileExists(t, filepath.Join(b.dir, ".handoff", "runs", s.RunID, "c.log"), "stage logs stay in the workspace")
	}

	rec := pipeline.LoadBlockingRun(b.dir, "both ways")
	require.NotNil(t, rec, "the blocking run is recorded in the workspace")
	require.Equal(t, c.Blocking.RunID, rec.RunID)
	saved, measured := c.Parallel.Saved()
	require.True(t, measured)
	want := c.Blocking.Wall.Milliseconds() - c.Parallel.Wall.Milliseconds()
	require.Equal(t, want, saved.Milliseconds(), "the saving is the measured difference")
	require.Equal(t, want, c.Parallel.Report().SavedMS)
	amount := human.Duration(time.Duration(want) * time.Millisecond)
	if want < 0 {
		amount = "-" + human.Duration(time.Duration(-want)*time.Millisecond)
	}
	require.Contains(t, b.stdout.String(), "saved               "+amount+" (", "the summary's saving line")
	require.Contains(t, b.stdout.String(), "Blocking run, in a scratch copy of "+b.dir)
	require.Contains(t, b.stdout.String(), "Parallel run, in a scratch copy of "+b.dir)
}

// TestCompareWithoutASuccessfulBlockingRun: a blocking run that failed is
// no figure to compare with, even when an older record exists.
func TestCompareWithoutASuccessfulBlockingRun(t *testing.T) {
	t.Parallel()
	b := setup(t, "name: flaky\nstages:\n  a: {run: \"test -e ok\"}\n", nil)
	require.NoError(t, os.WriteFile(filepath.Join(b.dir, "ok"), nil, 0o644))
	b.opts.Blocking = true
	first := run(t, b)
	require.True(t, first.OK())
	require.NoError(t, os.Remove(filepath.Join(b.dir, "ok")))

	b.opts.Blocking = false
	c := compare(t, b)
	require.Equal(t, pipeline.ExitFailed, c.ExitCode())
	_, measured := c.Parallel.Saved()
	require.False(t, measured, "an older blocking run is not this comparison's")
	require.Equal(t, first.RunID, pipeline.LoadBlockingRun(b.dir, "flaky").RunID, "the failed run recorded nothing")
	require.Contains(t, b.stdout.String(), "the parallel run measures no saving")
}

// compare runs the pipeline both ways and shows both runs, as the command
// line does.
func compare(t *testing.T, b *testBundle) *pipeline.Comparison {
	t.Helper()
	c, err := pipeline.Compare(context.Background(), b.opts)
	require.NoError(t, err, "stderr:\n%s", b.stderr)
	out := b.out
	out.Environ = b.opts.Environ
	require.NoError(t, report.WriteComparison(c, out))
	return c
}
