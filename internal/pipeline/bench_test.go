package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/pipeline"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// trueDAG is a layered DAG of stages running `true`: width stages per layer,
// each needing two stages of the layer before. It is written both as a
// pipeline and as a Makefile, so the scheduler's per-stage overhead can be
// compared with make -j's on the same graph.
func trueDAG(width, depth int) (yml, makefile string) {
	var y, m strings.Builder
	y.WriteString("stages:\n")
	var all []string
	for l := 0; l < depth; l++ {
		for i := 0; i < width; i++ {
			name := fmt.Sprintf("s%d_%d", l, i)
			all = append(all, name)
			var needs []string
			if l > 0 {
				needs = []string{fmt.Sprintf("s%d_%d", l-1, i), fmt.Sprintf("s%d_%d", l-1, (i+1)%width)}
			}
			fmt.Fprintf(&y, "  %s:\n    run: \"true\"\n", name)
			if len(needs) > 0 {
				fmt.Fprintf(&y, "    needs: [%s]\n", strings.Join(needs, ", "))
			}
			fmt.Fprintf(&m, "%s: %s\n\ttrue\n", name, strings.Join(needs, " "))
		}
	}
	return y.String(), ".PHONY: all " + strings.Join(all, " ") + "\nall: " + strings.Join(all, " ") + "\n" + m.String()
}

// dagShapes are the graphs both benchmarks run: 60 stages as 6 wide and 10
// deep, and as a chain where every stage waits for the one before.
var dagShapes = []struct {
	name         string
	width, depth int
}{{"layered-6x10", 6, 10}, {"chain-60", 1, 60}}

// BenchmarkSchedulerTrueDAG runs DAGs of `true` commands through Run.
// Compare ms/stage with BenchmarkMakeTrueDAG.
func BenchmarkSchedulerTrueDAG(b *testing.B) {
	for _, shape := range dagShapes {
		b.Run(shape.name, func(b *testing.B) { benchScheduler(b, shape.width, shape.depth) })
	}
}

func benchScheduler(b *testing.B, width, depth int) {
	yml, _ := trueDAG(width, depth)
	dir := b.TempDir()
	file := filepath.Join(dir, "dag.yml")
	if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
		b.Fatal(err)
	}
	p, err := pipeline.Load(file)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		s, err := pipeline.Run(context.Background(), pipeline.Options{Pipeline: p, Workspace: dir, LogDir: filepath.Join(dir, "logs")})
		if err != nil || !s.OK() {
			b.Fatalf("run failed: %v", err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N)/float64(width*depth), "ms/stage")
}

// BenchmarkMakeTrueDAG runs the same DAGs under make -j (no job limit, as
// Run has none by default).
func BenchmarkMakeTrueDAG(b *testing.B) {
	for _, shape := range dagShapes {
		b.Run(shape.name, func(b *testing.B) { benchMake(b, shape.width, shape.depth) })
	}
}

func benchMake(b *testing.B, width, depth int) {
	makeBin := testenv.LookPath(b, "make", "apt-get install make")
	_, mk := trueDAG(width, depth)
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), []byte(mk), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(makeBin, "-s", "-j", "-C", dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("make: %v: %s", err, out)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N)/float64(width*depth), "ms/stage")
}

// BenchmarkScenario runs examples/inventory/benchmark.yml at its scaled
// durations (3 s stages, 6 s of agent time per module) blocking and
// parallel, and the same DAG under make -j, with a stand-in for the engine:
// each task runs the example's scripted agent (6 s) and then `go test
// -cover` on the module's package, once. The real engine verifies more
// (baseline, several runs), so these figures show the scheduler, not the
// engine; examples/inventory/bench.sh measures the real thing.
//
// "generate-after-testing" is the file as written, the design note's order;
// "generate-at-start" drops the generate stage's needs, so the agents start
// with the testing stage. Each takes about a minute: run with
// -bench Scenario -benchtime 1x.
func BenchmarkScenario(b *testing.B) {
	testenv.LookPath(b, "make", "apt-get install make")
	for _, variant := range []struct {
		name    string
		atStart bool
	}{{"generate-after-testing", false}, {"generate-at-start", true}} {
		b.Run(variant.name, func(b *testing.B) {
			for b.Loop() {
				blocking := scenarioRun(b, true, variant.atStart)
				parallel := scenarioRun(b, false, variant.atStart)
				makeWall := scenarioMake(b, variant.atStart)
				_, cp := parallel.CriticalPath()
				b.ReportMetric(blocking.Wall.Seconds(), "blocking-s")
				b.ReportMetric(parallel.Wall.Seconds(), "parallel-s")
				b.ReportMetric(cp.Seconds(), "critical-path-s")
				b.ReportMetric(makeWall.Seconds(), "make-j-s")
				b.ReportMetric(parallel.Wall.Seconds()/cp.Seconds(), "parallel/critical-path")
				b.ReportMetric(parallel.Wall.Seconds()/blocking.Wall.Seconds(), "parallel/blocking")
				b.ReportMetric(parallel.Wall.Seconds()/makeWall.Seconds(), "parallel/make-j")
			}
		})
	}
}

func scenarioCopy(b *testing.B) string {
	dir := filepath.Join(b.TempDir(), "inventory")
	if err := os.CopyFS(dir, os.DirFS(inventory)); err != nil {
		b.Fatal(err)
	}
	return dir
}

func scenarioRun(b *testing.B, blocking, atStart bool) *pipeline.Summary {
	dir := scenarioCopy(b)
	if atStart {
		file := filepath.Join(dir, "benchmark.yml")
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		const with, without = "  generate-tests:\n    needs: testing\n", "  generate-tests:\n"
		if !strings.Contains(string(data), with) {
			b.Fatal("benchmark.yml changed: its generate-tests stage no longer needs testing")
		}
		data = []byte(strings.Replace(string(data), with, without, 1))
		if err := os.WriteFile(file, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	tasks := &memTasks{root: context.Background(), tasks: map[string]*memTask{}, slots: make(chan struct{}, 5),
		work: func(ctx context.Context, r handofftype.Request) *handofftype.Result {
			select {
			case <-time.After(6 * time.Second): // the scripted agent's think time
			case <-ctx.Done():
			}
			return runScriptedAgent(ctx, r)
		}}
	s, err := pipeline.Run(context.Background(), pipeline.Options{File: filepath.Join(dir, "benchmark.yml"), Tasks: tasks, Blocking: blocking})
	if err != nil || !s.OK() {
		b.Fatalf("scenario (blocking=%v) failed: %v", blocking, err)
	}
	return s
}

// scenarioMake runs the same DAG under make -j, the generate stage being
// five make targets that each do what a stand-in task does.
func scenarioMake(b *testing.B, atStart bool) time.Duration {
	dir := scenarioCopy(b)
	mods := []string{"sku", "stock", "pricing", "orders", "report"}
	var m strings.Builder
	fmt.Fprintf(&m, ".PHONY: all testing refactoring staging-deploy collect %s\nall: collect\n", strings.Join(mods, " "))
	m.WriteString("testing:\n\tscripts/stage.sh 3 sh -c 'go vet ./... && go test -cover ./...'\n")
	for _, p := range mods {
		need := "testing"
		if atStart {
			need = ""
		}
		fmt.Fprintf(&m, "%s: %s\n\tHANDOFF_MODULE_PATH=%s/%s.go HANDOFF_OUTPUT_PATH=.handoff/agent/%s_test.go sh agent/scripted-agent.sh 6 >/dev/null\n\tmv .handoff/agent/%s_test.go %s/\n\tgo test -cover ./%s >/dev/null\n", p, need, p, p, p, p, p, p)
	}
	m.WriteString("refactoring: testing\n\tscripts/stage.sh 3 go build ./...\n")
	m.WriteString("staging-deploy: refactoring\n\tscripts/stage.sh 3 sh -c 'go build -o .handoff/staging/inventory ./cmd/inventory && .handoff/staging/inventory -check'\n")
	fmt.Fprintf(&m, "collect: staging-deploy %s\n", strings.Join(mods, " "))
	if err := os.WriteFile(filepath.Join(dir, "Makefile.bench"), []byte(m.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	cmd := exec.Command("make", "-s", "-j", "-f", "Makefile.bench")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("make: %v: %s", err, out)
	}
	return time.Since(start)
}
