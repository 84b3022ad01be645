package pipeline

import (
	"bytes"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/task"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// scenarioSummary is a finished parallel run of the design note's scenario,
// built by hand so its figures are known.
func scenarioSummary() *Summary {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	code := 0
	stage := func(name string, kind Kind, needs []string, start, end int) *StageRecord {
		return &StageRecord{Name: name, Kind: kind, Needs: needs, Status: StageSucceeded, Started: true,
			Start: ms(start), End: ms(end), ExitCode: &code}
	}
	done := true
	tk := func(id, module string, submitted, started, ended int, after float64) *TaskRecord {
		return &TaskRecord{ID: id, Stage: "generate", Module: module, Submitted: ms(submitted),
			Status: &task.Status{ID: id, State: task.StateCompleted, Success: &done, StartedAt: at(ms(started)), CompletedAt: at(ms(ended))},
			Result: &task.Result{TaskID: id, Status: task.StateCompleted, Success: after >= 80,
				Coverage: task.Coverage{Before: 0, After: after, Threshold: 80},
				Tests:    task.Tests{Kept: []string{"TestA", "TestB", "TestC"}},
				Timings:  task.Timings{RunMS: int64(ended - started)}}}
	}
	return &Summary{
		Pipeline: "inventory", File: "pipeline.yml", RunID: "20260101-120000-abcdef", Mode: ModeParallel,
		Concurrency: 2, Started: t0, Wall: ms(10500),
		Stages: []*StageRecord{
			stage("testing", KindRun, nil, 0, 3000),
			stage("generate", KindGenerate, []string{"testing"}, 3000, 3010),
			stage("refactoring", KindRun, []string{"testing"}, 3000, 6000),
			stage("deploy", KindRun, []string{"refactoring"}, 6000, 9000),
			stage("collect", KindCollect, []string{"deploy", "generate"}, 9000, 10500),
		},
		Tasks: []*TaskRecord{
			tk("t1", "sku/sku.go", 3005, 3100, 10000, 92.5),
			tk("t2", "stock/stock.go", 3008, 5000, 10400, 61),
		},
	}
}

func TestSummaryFigures(t *testing.T) {
	t.Parallel()
	s := scenarioSummary()
	path, cp := s.CriticalPath()
	require.Equal(t, []string{"testing", "refactoring", "deploy", "collect"}, path)
	require.Equal(t, 10500*time.Millisecond, cp)
	require.Equal(t, 10510*time.Millisecond, s.StageTime())
	// 3 s + 10 ms + 3 s + 3 s of stages, and 6.9 s + 5.4 s of task run time.
	require.Equal(t, 21310*time.Millisecond, s.OneAtATime())
	require.Equal(t, 10810*time.Millisecond, s.Saved())
	require.True(t, s.OK())

	s.Mode = ModeBlocking
	require.Equal(t, 9010*time.Millisecond, s.OneAtATime(), "blocking generate stages already hold their tasks")

	mods := s.Modules()
	require.Len(t, mods, 2)
	require.False(t, mods[1].Success)
	require.InDelta(t, 61.0, mods[1].CoverageAfter, 0)

	s.Stages[3].Status = StageFailed
	require.Equal(t, ExitFailed, s.ExitCode())
	s.Stages[3].AllowedFailure = true
	require.Equal(t, ExitOK, s.ExitCode(), "continue-on-error")
	s.Interrupted = true
	require.Equal(t, ExitInterrupted, s.ExitCode())
}

// TestSummaryText compares the end-of-run text with testdata/summary.golden
// (go test -run TestSummaryText -update rewrites it).
func TestSummaryText(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	scenarioSummary().WriteText(&out)
	const golden = "testdata/summary.golden"
	if *update {
		require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), out.String())
}
