package verify

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The benchmarks measure what verification costs for a small module: the
// baseline (Measure) and the verdict on four good generated tests (Verify),
// with the default three runs. They report seconds and test runs per task.
//
//	go test ./internal/verify -run '^$' -bench VerifyGo -benchtime 3x

func BenchmarkVerifyGo(b *testing.B) {
	needGo(b)
	benchmarkVerify(b, Options{Module: "calc/calc.go"}, "testdata/go/module", "testdata/bench/go", 4)
}

func BenchmarkVerifyPython(b *testing.B) {
	py := needPython(b)
	benchmarkVerify(b, Options{Module: "shapes/geometry.py", Python: py}, "testdata/python/module", "testdata/bench/python", 4)
}

func benchmarkVerify(b *testing.B, o Options, module, agent string, kept int) {
	ctx := context.Background()
	var measure, verify time.Duration
	runs := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ft := newFixtureTask(b, module)
		o := o
		o.Dir, o.Log = ft.dir, testLog(b)
		b.StartTimer()

		start := time.Now()
		base, err := Measure(ctx, o)
		require.NoError(b, err)
		measure += time.Since(start)

		b.StopTimer()
		ft.agentWrites(b, agent)
		changes := ft.changes(b)
		b.StartTimer()

		start = time.Now()
		r, err := Verify(ctx, Input{Options: o, Baseline: base, Changes: changes, Restore: ft.restore})
		require.NoError(b, err)
		verify += time.Since(start)
		require.Len(b, r.Kept, kept, "dropped: %v", r.Dropped)
		runs += base.Runs + r.Runs
	}
	n := float64(b.N)
	b.ReportMetric(measure.Seconds()/n, "measure-s/op")
	b.ReportMetric(verify.Seconds()/n, "verify-s/op")
	b.ReportMetric(float64(runs)/n, "testruns/op")
}

// BenchmarkVerifyGoFiveAtOnce verifies five copies of the small Go module
// at the same moment, as five tasks of a pipeline do on one machine. It
// reports the wall time of the five concurrent Verify calls and the mean
// time of one of them; the baselines are measured beforehand, untimed.
//
//	go test ./internal/verify -run '^$' -bench VerifyGoFiveAtOnce -benchtime 5x
func BenchmarkVerifyGoFiveAtOnce(b *testing.B) {
	needGo(b)
	const tasks = 5
	ctx := context.Background()
	var wall, each time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		inputs := make([]Input, tasks)
		for j := range inputs {
			ft := newFixtureTask(b, "testdata/go/module")
			o := Options{Dir: ft.dir, Module: "calc/calc.go", Log: testLog(b)}
			base, err := Measure(ctx, o)
			require.NoError(b, err)
			ft.agentWrites(b, "testdata/bench/go")
			inputs[j] = Input{Options: o, Baseline: base, Changes: ft.changes(b), Restore: ft.restore}
		}
		b.StartTimer()

		start := time.Now()
		reports := make([]*Report, tasks)
		errs := make([]error, tasks)
		took := make([]time.Duration, tasks)
		var wg sync.WaitGroup
		for j := range inputs {
			wg.Go(func() {
				t0 := time.Now()
				reports[j], errs[j] = Verify(ctx, inputs[j])
				took[j] = time.Since(t0)
			})
		}
		wg.Wait()
		wall += time.Since(start)
		for j := range reports {
			require.NoError(b, errs[j])
			require.Len(b, reports[j].Kept, 4, "dropped: %v", reports[j].Dropped)
			each += took[j]
		}
	}
	n := float64(b.N)
	b.ReportMetric(wall.Seconds()/n, "wall-s/op")
	b.ReportMetric(each.Seconds()/n/tasks, "verify-s/task")
}
