package report

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/pipeline"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// TestLiveViewPlainHeartbeat: off a terminal, the active lines are printed
// now and then, so a CI log shows a long wait is alive.
func TestLiveViewPlainHeartbeat(t *testing.T) {
	t.Parallel()
	var out testenv.Buffer
	v := NewLive(&out)
	require.False(t, v.tty)
	v.plainEvery = 10 * time.Millisecond
	v.begin(func() []string { return []string{"  ● collect   waiting"} })
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(out.String(), "still running:\n  ● collect   waiting\n") {
		require.True(t, time.Now().Before(deadline), "no heartbeat; got:\n%s", out.String())
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	v.Stop()
	require.NotContains(t, out.String(), "\x1b[")
}

// A stage's end is one event line: its status, how long it ran (in the one
// duration format) and what it said; nothing is drawn after Stop.
func TestLiveStageFinished(t *testing.T) {
	t.Parallel()
	var out testenv.Buffer
	v := NewLive(&out)
	v.Start(func() *pipeline.Summary { return &pipeline.Summary{Started: time.Now()} })
	v.StageFinished(pipeline.StageRecord{Name: "lint", Status: pipeline.StageFailed, Started: true, Start: time.Second,
		End: 3200 * time.Millisecond, AllowedFailure: true}, "exit code 1")
	v.StageFinished(pipeline.StageRecord{Name: "deploy", Status: pipeline.StageSkipped}, `not run: it needs "build"`)
	v.Stop()
	v.Event("after the run")
	require.Contains(t, out.String(), " lint failed in 2.2s (continue-on-error): exit code 1\n")
	require.Contains(t, out.String(), ` deploy skipped: not run: it needs "build"`+"\n")
	require.Contains(t, out.String(), " after the run\n")
}
