package engine_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/store"
)

// jobState reads the state River's own tools show for the task's job.
func (b *bundle) jobState(t *testing.T, id string) string {
	t.Helper()
	rec, err := b.eng.Get(context.Background(), id)
	require.NoError(t, err)
	return rec.JobState
}

// waitFor polls cond until it holds, failing after the deadline.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "still waiting after %s for %s", within, what)
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}

// TestCancelEndsCancelledWhateverTheRunReturns: a run being cancelled may
// return the agent's own error wrapping context.Canceled, a verdict (as
// verification cut short does), a transient error, or the context's cause,
// which is River's JobCancelError when the cancel came from another process.
// Every one ends CANCELLED, once, with who cancelled, and River agrees.
func TestCancelEndsCancelledWhateverTheRunReturns(t *testing.T) {
	t.Parallel()
	returns := map[string]func(ctx context.Context) (*handofftype.Result, error){
		"wrapped": func(ctx context.Context) (*handofftype.Result, error) {
			return nil, fmt.Errorf("builtin agent: %w", ctx.Err())
		},
		"verdict": func(ctx context.Context) (*handofftype.Result, error) {
			return &handofftype.Result{Success: false}, nil
		},
		"transient": func(ctx context.Context) (*handofftype.Result, error) {
			return nil, agent.Transient(fmt.Errorf("stream: %w", ctx.Err()))
		},
		"cause": func(ctx context.Context) (*handofftype.Result, error) { return nil, context.Cause(ctx) },
	}
	each(t, func(t *testing.T, dbURL string) {
		started := make(chan string, 2*len(returns))
		var runs counter
		// The heartbeat is slower than River's cancel poll (2s): a cancel from
		// the other client reaches the run as River's JobCancelError.
		b := setupWith(t, dbURL, engine.Config{Workers: 2 * len(returns), HeartbeatInterval: 10 * time.Second,
			HeartbeatTimeout: time.Minute, Run: func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
				runs.inc(rec.ID)
				started <- rec.ID
				<-ctx.Done()
				return returns[rec.Request.Model](ctx)
			}})
		other := setup(t, dbURL, nil) // another process's client: it can only reach the worker through the database
		from := map[string]*bundle{}
		for model := range returns {
			from[b.insertModel(t, model)] = b
			from[other.insertModel(t, model)] = other
		}
		for range from {
			<-started
		}
		for id, c := range from {
			_, err := c.eng.Cancel(context.Background(), id)
			require.NoError(t, err)
		}
		for id := range from {
			rec := b.waitFinal(t, id)
			require.Equal(t, handofftype.StateCancelled, rec.State, "%s: %+v", rec.Request.Model, rec.Result)
			require.Contains(t, rec.Result.CancelledBy, "pid", "the result says who cancelled")
			require.Equal(t, int32(1), runs.get(id), "a cancelled task is not retried")
			waitFor(t, 10*time.Second, "River to finalise the job", func() bool { return b.jobState(t, id) != "running" })
			require.Equal(t, "cancelled", b.jobState(t, id))
		}
	})
}

// TestFailedTaskIsDiscardedInRiver: River's own tools say discarded for a
// FAILED task and completed for a COMPLETED one.
func TestFailedTaskIsDiscardedInRiver(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
			if rec.Request.Model == "bad" {
				return nil, errors.New("bad configuration")
			}
			return &handofftype.Result{Success: true}, nil
		})
		bad, good := b.insertModel(t, "bad"), b.insertModel(t, "good")
		require.Equal(t, handofftype.StateFailed, b.waitFinal(t, bad).State)
		require.Equal(t, handofftype.StateCompleted, b.waitFinal(t, good).State)
		waitFor(t, 10*time.Second, "River to finalise the jobs", func() bool {
			return b.jobState(t, bad) != "running" && b.jobState(t, good) != "running"
		})
		require.Equal(t, "discarded", b.jobState(t, bad))
		require.Equal(t, "completed", b.jobState(t, good))
	})
}

// TestLostAttemptWritesNothing: worker A falls silent (it never beats) and
// worker B rescues its task. When A's run comes back while B's attempt is
// still running, none of A's writes lands: not its progress, its agent
// state, its result, nor River's completion of the job B now runs; and the
// store refuses A's progress, heartbeat and requeue.
func TestLostAttemptWritesNothing(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		releaseA, releaseB := make(chan struct{}), make(chan struct{})
		startedA, startedB := make(chan string, 1), make(chan string, 1)
		var aPut error
		aDone := make(chan struct{})
		// A's heartbeat is an hour away and its timeout longer: only the
		// fence, not A's own clock, can stop its writes.
		a := setupWith(t, dbURL, engine.Config{Workers: 1, HeartbeatInterval: time.Hour, HeartbeatTimeout: 2 * time.Hour,
			Run: func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
				defer close(aDone)
				startedA <- rec.ID
				select {
				case <-releaseA:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				aPut = env.State.Put(context.Background(), "owner", "A")
				return &handofftype.Result{Success: true, Extra: map[string]any{"by": "A"}}, nil
			}})
		id := a.insert(t, 3, time.Minute)
		require.Equal(t, id, <-startedA)

		b := setupWith(t, dbURL, engine.Config{HeartbeatTimeout: time.Second,
			Run: func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
				env.Progress("B: working")
				if err := env.State.Put(ctx, "owner", "B"); err != nil {
					return nil, err
				}
				startedB <- rec.ID
				select {
				case <-releaseB:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				if err := env.Confirm(ctx); err != nil {
					return nil, err
				}
				return &handofftype.Result{Success: true, Extra: map[string]any{"by": "B"}}, nil
			}})
		require.Equal(t, id, <-startedB, "B rescues the silent task")

		close(releaseA)
		<-aDone
		waitFor(t, 10*time.Second, "A's attempt to end", func() bool { return a.eng.Active() == 0 })
		require.ErrorIs(t, aPut, engine.ErrLeaseLost)
		lost := store.Lease{TaskID: id, Attempt: 1}
		require.ErrorIs(t, b.store.SetProgress(ctx, lost, "A: stale progress"), engine.ErrLeaseLost)
		_, err := b.store.Heartbeat(ctx, lost, time.Now())
		require.ErrorIs(t, err, engine.ErrLeaseLost)
		require.ErrorIs(t, b.store.MarkRetrying(ctx, lost, "A: requeue"), engine.ErrLeaseLost)
		rec, err := b.eng.Get(ctx, id)
		require.NoError(t, err)
		require.Equal(t, handofftype.StateRunning, rec.State, "A's result must not end the task B runs")
		require.Equal(t, 2, rec.Attempt)
		require.Equal(t, "B: working", rec.Progress)
		require.Equal(t, "running", rec.JobState, "A's return must not finish in River the job B runs")
		v, _, err := store.TaskState{DB: b.db.SQL, TaskID: id}.Get(ctx, "owner")
		require.NoError(t, err)
		require.Equal(t, "B", v)

		close(releaseB)
		final := b.waitFinal(t, id)
		require.Equal(t, handofftype.StateCompleted, final.State)
		require.Equal(t, 2, final.Result.Attempts)
		require.Equal(t, "B", final.Result.Extra["by"])
	})
}

// TestWorkerStopsAttemptItCannotRenew: a worker whose heartbeat does not get
// through for the heartbeat timeout stops the attempt itself, with
// ErrLeaseLost as the cause, though nobody else is there to rescue it.
func TestWorkerStopsAttemptItCannotRenew(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		causes := make(chan error, 3)
		b := setupWith(t, dbURL, engine.Config{HeartbeatInterval: time.Hour, HeartbeatTimeout: 500 * time.Millisecond,
			Run: func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
				<-ctx.Done()
				causes <- context.Cause(ctx)
				return nil, ctx.Err()
			}})
		id := b.insert(t, 3, time.Minute)
		select {
		case cause := <-causes:
			require.ErrorIs(t, cause, engine.ErrLeaseLost)
		case <-time.After(30 * time.Second): // the lease is 500ms; 30s is for a loaded machine
			t.Fatal("the attempt kept running after its heartbeat timeout")
		}
		rec := b.waitFinal(t, id)
		require.Equal(t, handofftype.StateFailed, rec.State, "every attempt lost its lease")
		require.Contains(t, rec.Result.Error, "worker lost")
		require.Equal(t, handofftype.FailureWorkerLost, rec.Result.FailureClass)
	})
}
