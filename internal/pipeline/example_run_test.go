package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/pipeline"
	"github.com/handoff-dev/handoff/internal/pipeline/report"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// inventory is the example workspace the design note's scenario runs in.
const inventory = "../../examples/inventory"

var coverageLine = regexp.MustCompile(`coverage: ([0-9.]+)% of statements`)

// TestExampleBenchmarkPipeline runs benchmark.yml in a copy of the example
// with its stage padding off, both ways. Each task runs the example's
// scripted agent (with no think time) in the workspace and then the
// package's tests with coverage: a small stand-in for the engine's
// verification, enough to show that the stage commands work, the prepared
// tests pass and cover the modules, and every task's result is collected.
func TestExampleBenchmarkPipeline(t *testing.T) {
	t.Parallel()
	for _, blocking := range []bool{false, true} {
		t.Run("blocking="+strconv.FormatBool(blocking), func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "inventory")
			require.NoError(t, os.CopyFS(dir, os.DirFS(inventory)))
			tasks := newMemTasks(t, 5, func(ctx context.Context, r handofftype.Request) *handofftype.Result {
				return runScriptedAgent(ctx, r)
			})
			var errOut testenv.Buffer
			s, err := pipeline.Run(context.Background(), pipeline.Options{
				File: filepath.Join(dir, "benchmark.yml"), Tasks: tasks, Blocking: blocking,
				Display: report.NewLive(&errOut), Environ: append(os.Environ(), "EXAMPLE_TIME_SCALE=0"),
			})
			require.NoError(t, err)
			require.Equal(t, pipeline.ExitOK, s.ExitCode(), "stderr:\n%s", errOut.String())
			require.Len(t, s.Tasks, 5)
			for _, m := range s.Modules() {
				require.True(t, m.Success, "%s: %s", m.Module, m.Note)
				require.GreaterOrEqual(t, m.CoverageAfter, 80.0, m.Module)
				require.FileExists(t, filepath.Join(dir, path.Dir(m.Module), path.Base(path.Dir(m.Module))+"_test.go"))
			}
			require.FileExists(t, filepath.Join(dir, ".handoff", "staging", "inventory"), "staging-deploy built the binary")
		})
	}
}

// runScriptedAgent runs agent/scripted-agent.sh for the module with no
// think time, moves its test into the package (atomically, as applying kept
// tests must: a stage may be building the package at that moment), then
// runs `go test -cover` on the package.
func runScriptedAgent(ctx context.Context, r handofftype.Request) *handofftype.Result {
	pkg := path.Dir(r.Module)
	output := path.Join(pkg, path.Base(pkg)+"_test.go")
	staged := path.Join(".handoff", "agent", output)
	fail := func(format string, args ...any) *handofftype.Result {
		return &handofftype.Result{State: handofftype.StateFailed, Error: fmt.Sprintf(format, args...)}
	}
	agent := exec.CommandContext(ctx, "sh", "agent/scripted-agent.sh", "0")
	agent.Dir = r.Workspace
	agent.Env = append(os.Environ(), "HANDOFF_MODULE_PATH="+r.Module, "HANDOFF_OUTPUT_PATH="+staged)
	if out, err := agent.CombinedOutput(); err != nil {
		return fail("agent: %v: %s", err, out)
	}
	if err := os.Rename(filepath.Join(r.Workspace, staged), filepath.Join(r.Workspace, output)); err != nil {
		return fail("applying: %v", err)
	}
	test := exec.CommandContext(ctx, "go", "test", "-cover", "./"+pkg)
	test.Dir = r.Workspace
	out, err := test.CombinedOutput()
	if err != nil {
		return fail("go test: %v: %s", err, out)
	}
	m := coverageLine.FindSubmatch(out)
	if m == nil {
		return fail("no coverage in: %s", out)
	}
	after, _ := strconv.ParseFloat(string(m[1]), 64)
	return &handofftype.Result{
		State: handofftype.StateCompleted, Success: after >= 80, Output: output,
		Coverage: handofftype.Coverage{Before: 0, After: after, Threshold: 80},
		Tests:    handofftype.Tests{Kept: []string{"prepared"}},
	}
}
