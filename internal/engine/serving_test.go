package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/store"
)

// TestAgentLimitQueuesTheRest: with four slots and a limit of one task of
// agent "test" at once, a burst of four such tasks runs one at a time,
// the others waiting QUEUED (no attempt used), and all complete.
func TestAgentLimitQueuesTheRest(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		var mu sync.Mutex
		running, most := 0, 0
		b := setupWith(t, dbURL, engine.Config{Workers: 4, AgentLimits: map[string]int{"test": 1},
			Run: func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
				mu.Lock()
				running++
				most = max(most, running)
				mu.Unlock()
				defer func() { mu.Lock(); running--; mu.Unlock() }()
				// Long enough for the other three to be fetched meanwhile.
				select {
				case <-time.After(150 * time.Millisecond):
				case <-ctx.Done():
				}
				return &handofftype.Result{TaskID: rec.ID, Success: true}, nil
			}})
		var ids []string
		for range 4 {
			ids = append(ids, b.insert(t, 3, time.Minute))
		}
		for _, id := range ids {
			rec := b.waitFinal(t, id)
			require.Equal(t, handofftype.StateCompleted, rec.State)
			require.Equal(t, 1, rec.Attempt, "waiting for the agent's slot uses no attempt")
		}
		require.Equal(t, 1, most, "at most one task of the limited agent at once")
	})
}

// TestWorkerTakesOnlyItsQueues: a task queued for a language and agent no
// started worker serves stays QUEUED; a worker that serves it runs it.
func TestWorkerTakesOnlyItsQueues(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		ran := make(chan string, 4)
		b := setup(t, dbURL, func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
			ran <- rec.ID
			return &handofftype.Result{TaskID: rec.ID, Success: true}, nil
		})
		cov := 80.0
		rec := &store.Record{ID: fmt.Sprintf("py-%d", time.Now().UnixNano()), RequestHash: "h", Language: "python",
			State: handofftype.StateQueued, MaxAttempts: 3, CreatedAt: time.Now(),
			Request: handofftype.Request{Workspace: "/w", Module: "m.py", Output: "tests/test_m.py", Agent: "test", Coverage: &cov}}
		ctx := context.Background()
		require.NoError(t, b.eng.InsertMany(ctx, []engine.Insertion{{Record: rec, Timeout: time.Minute,
			Queue: engine.QueueFor("python", "test")}}))
		// A task of the default queue completes: the worker is working.
		other := b.insert(t, 3, time.Minute)
		require.Equal(t, handofftype.StateCompleted, b.waitFinal(t, other).State)
		require.Equal(t, other, <-ran)
		got, err := b.store.Get(ctx, rec.ID)
		require.NoError(t, err)
		require.Equal(t, handofftype.StateQueued, got.State, "no started worker works queue %s", engine.QueueFor("python", "test"))

		// A second engine on the same database serving that queue runs it.
		setupServing(t, b.db, engine.Serving{Queues: map[string]int{engine.QueueFor("python", "test"): 2}},
			func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
				return &handofftype.Result{TaskID: rec.ID, Success: true}, nil
			})
		require.Equal(t, handofftype.StateCompleted, b.waitFinal(t, rec.ID).State)
	})
}

func TestQueueFor(t *testing.T) {
	t.Parallel()
	require.Equal(t, "t_go_builtin", engine.QueueFor("go", "builtin"))
	require.Equal(t, "t_python_my_agent_2", engine.QueueFor("python", "My Agent--2"))
	long := engine.QueueFor("go", "a-very-long-agent-name-that-goes-on-and-on-beyond-sixty-four-characters")
	require.LessOrEqual(t, len(long), 64)
	require.NotContains(t, long[len(long)-1:], "_")
}

// TestWorkerRecordsRunning: a worker's record says how many tasks it runs,
// as of its last heartbeat.
func TestWorkerRecordsRunning(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		release := make(chan struct{})
		b := setup(t, dbURL, func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return &handofftype.Result{TaskID: rec.ID, Success: true}, nil
		})
		running := func(want int) {
			t.Helper()
			deadline := time.Now().Add(30 * time.Second)
			for {
				ws, err := b.store.Workers(context.Background(), time.Now().Add(-time.Minute))
				require.NoError(t, err)
				require.Len(t, ws, 1)
				if ws[0].Running == want {
					return
				}
				require.True(t, time.Now().Before(deadline), "running %d, want %d", ws[0].Running, want)
				time.Sleep(20 * time.Millisecond) // polling with a deadline
			}
		}
		id := b.insert(t, 3, time.Minute)
		running(1)
		close(release)
		require.Equal(t, handofftype.StateCompleted, b.waitFinal(t, id).State)
		running(0)
	})
}
