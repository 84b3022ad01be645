package pipeline

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

	"github.com/handoff-dev/handoff/internal/task"
)

const exampleDir = "../../examples/inventory"

var exampleModules = []string{"orders/orders.go", "pricing/pricing.go", "report/report.go", "sku/sku.go", "stock/stock.go"}

func TestExamplePipelinesLoad(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"pipeline.yml", "benchmark.yml"} {
		p, err := Load(filepath.Join(exampleDir, name))
		require.NoError(t, err, name)
		require.Equal(t, 5, p.Concurrency, name)
		gen := p.Stage("generate-tests")
		require.NotNil(t, gen, name)
		mods, err := resolveModules(exampleDir, gen.Generate.Modules)
		require.NoError(t, err, name)
		require.Equal(t, exampleModules, mods, "the design note's five modules")
		require.Equal(t, []string{"staging-deploy", "generate-tests"}, p.Stage("collect-tests").Needs)
	}
}

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
			require.NoError(t, os.CopyFS(dir, os.DirFS(exampleDir)))
			tasks := newMemTasks(t, 5, func(ctx context.Context, r task.Request) *task.Result {
				return runScriptedAgent(ctx, r)
			})
			b := &testBundle{dir: dir}
			var out, errOut safeBuffer
			b.opts = Options{
				File: filepath.Join(dir, "benchmark.yml"), Tasks: tasks, Blocking: blocking,
				Stdout: &out, Stderr: &errOut, Environ: append(os.Environ(), "EXAMPLE_TIME_SCALE=0"),
			}
			s, err := Run(context.Background(), b.opts)
			require.NoError(t, err)
			require.Equal(t, ExitOK, s.ExitCode(), "stderr:\n%s", errOut.String())
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
func runScriptedAgent(ctx context.Context, r task.Request) *task.Result {
	pkg := path.Dir(r.Module)
	output := path.Join(pkg, path.Base(pkg)+"_test.go")
	staged := path.Join(".handoff", "agent", output)
	fail := func(format string, args ...any) *task.Result {
		return &task.Result{Status: task.StateFailed, Error: fmt.Sprintf(format, args...)}
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
	return &task.Result{
		Status: task.StateCompleted, Success: after >= 80, OutputPath: output,
		Coverage: task.Coverage{Before: 0, After: after, Threshold: 80},
		Tests:    task.Tests{Kept: []string{"prepared"}},
	}
}
