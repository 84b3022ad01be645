package engine_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/store"
)

// engine.Result is the one place a result is made: from the record alone
// (the task ended without a run, or an attempt starts), or from what a run
// reported, which it never changes.
func TestResultFromRecordAndOutcome(t *testing.T) {
	t.Parallel()
	threshold := 70.0
	rec := &store.Record{ID: "t1", Language: "go", Attempt: 2, LastError: "attempt 1 of 3 failed: network",
		Request: handofftype.Request{Module: "calc.go", Output: "calc_test.go", Agent: "exec", Model: "m",
			Coverage: &threshold, Apply: handofftype.ApplySuccess}}

	start := engine.Result(rec, nil, engine.Outcome{})
	require.Equal(t, &handofftype.Result{TaskID: "t1", Module: "calc.go", Output: "calc_test.go", Language: "go",
		Coverage: handofftype.Coverage{Threshold: 70}, Agent: handofftype.AgentInfo{Name: "exec", Model: "m"},
		Apply: handofftype.ApplyInfo{Mode: handofftype.ApplySuccess}, Attempts: 2,
		Tests: handofftype.Tests{Kept: []string{}, Dropped: start.Tests.Dropped}, Files: []string{}}, start)
	b, err := json.Marshal(start)
	require.NoError(t, err)
	require.Contains(t, string(b), `"tests":{"kept":[],"dropped":[]}`, "lists are empty, never null")
	require.Contains(t, string(b), `"files":[]`)

	for _, tc := range []struct {
		name string
		o    engine.Outcome
		want string
	}{
		{"failed with its reason", engine.Outcome{State: handofftype.StateFailed, Error: "worker lost"}, "worker lost"},
		{"discarded in the queue: the last error", engine.Outcome{State: handofftype.StateFailed}, rec.LastError},
		{"cancelled: who asked", engine.Outcome{State: handofftype.StateCancelled, Error: "cancelled by request", CancelledBy: "me"}, "cancelled by request"},
	} {
		res := engine.Result(rec, nil, tc.o)
		require.Equal(t, tc.o.State, res.State, tc.name)
		require.Equal(t, tc.want, res.Error, tc.name)
		require.Equal(t, tc.o.CancelledBy, res.CancelledBy, tc.name)
		require.Equal(t, 70.0, res.Coverage.Threshold, tc.name)
	}
	noErr := *rec
	noErr.LastError = ""
	require.Equal(t, "cancelled", engine.Result(&noErr, nil, engine.Outcome{State: handofftype.StateCancelled}).Error)

	run := &handofftype.Result{TaskID: "t1", Success: true, Coverage: handofftype.Coverage{Before: 10, After: 90, Threshold: 70},
		Tests: handofftype.Tests{Kept: []string{"TestAdd"}}, Attempts: 1}
	done := engine.Result(rec, run, engine.Outcome{State: handofftype.StateCompleted})
	require.Equal(t, handofftype.StateCompleted, done.State)
	require.Equal(t, 2, done.Attempts, "the record's attempt count")
	require.Equal(t, []string{"TestAdd"}, done.Tests.Kept)
	require.Empty(t, done.Error, "a verdict keeps the run's (empty) error")
	failed := engine.Result(rec, run, engine.Outcome{State: handofftype.StateFailed, Error: "task timed out"})
	require.Equal(t, "task timed out", failed.Error)
	require.Equal(t, 90.0, failed.Coverage.After, "what the run measured stays")
	require.Equal(t, handofftype.State(""), run.State, "the run's result is not changed")
	require.Empty(t, run.Error)
	require.Equal(t, 1, run.Attempts)
}
