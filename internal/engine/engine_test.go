package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/database"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/testenv"
)

type bundle struct {
	db    *database.DB
	eng   *engine.Engine
	store *store.Store
}

func setup(t *testing.T, dbURL string, run engine.RunFunc) *bundle {
	t.Helper()
	return setupWith(t, dbURL, engine.Config{Run: run})
}

// setupWith starts an engine with the test defaults below for every
// duration cfg leaves zero.
func setupWith(t *testing.T, dbURL string, cfg engine.Config) *bundle {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, dbURL, database.Options{Workers: cfg.Workers})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	cfg.DB = db
	if cfg.Workers == 0 {
		cfg.Workers = 4
	}
	for _, d := range []struct {
		field *time.Duration
		value time.Duration
	}{{&cfg.HeartbeatInterval, 50 * time.Millisecond}, {&cfg.HeartbeatTimeout, 2 * time.Second},
		{&cfg.RetryBase, 10 * time.Millisecond}, {&cfg.RetryMax, 50 * time.Millisecond}, {&cfg.FetchInterval, 20 * time.Millisecond}} {
		if *d.field == 0 {
			*d.field = d.value
		}
	}
	eng, err := engine.New(cfg)
	require.NoError(t, err)
	t.Cleanup(eng.Close) // after Stop, before the database closes
	if cfg.Run != nil {
		require.NoError(t, eng.Start(ctx, engine.Serving{}))
		t.Cleanup(func() { _ = eng.Stop(context.Background(), time.Second) })
	}
	return &bundle{db: db, eng: eng, store: eng.Store()}
}

// setupServing starts a second engine on db working s's queues.
func setupServing(t *testing.T, db *database.DB, s engine.Serving, run engine.RunFunc) *engine.Engine {
	t.Helper()
	eng, err := engine.New(engine.Config{DB: db, Run: run, Workers: 2, HeartbeatInterval: 50 * time.Millisecond,
		HeartbeatTimeout: 2 * time.Second, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, FetchInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(eng.Close)
	require.NoError(t, eng.Start(context.Background(), s))
	t.Cleanup(func() { _ = eng.Stop(context.Background(), time.Second) })
	return eng
}

var taskSeq atomic.Int64

func (b *bundle) insert(t *testing.T, maxAttempts int, timeout time.Duration) string {
	t.Helper()
	cov := 80.0
	id := fmt.Sprintf("task-%d-%d", time.Now().UnixNano(), taskSeq.Add(1))
	rec := &store.Record{ID: id, RequestHash: "h", Language: "go", State: handofftype.StateQueued,
		MaxAttempts: maxAttempts, CreatedAt: time.Now(),
		Request: handofftype.Request{Workspace: "/w", Module: "m.go", Output: "m_test.go", Agent: "test", Coverage: &cov}}
	require.NoError(t, b.eng.Insert(context.Background(), rec, 3, timeout))
	return id
}

// waitFinal waits on the engine's completion signal, with a deadline.
func (b *bundle) waitFinal(t *testing.T, id string) *store.Record {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		done, release := b.eng.Done(id)
		rec, err := b.store.Get(context.Background(), id)
		require.NoError(t, err)
		if rec.State.Final() {
			release()
			return rec
		}
		select {
		case <-done:
		case <-time.After(100 * time.Millisecond): // also catches finals written by other paths
		case <-deadline:
			t.Fatalf("task %s still %s after 30s", id, rec.State)
		}
		release()
	}
}

func each(t *testing.T, f func(t *testing.T, dbURL string)) {
	for name, mk := range testenv.Databases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, mk(t))
		})
	}
}

func TestCompletesAndRecordsResult(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
			env.Progress("working")
			require.NoError(t, env.State.Put(ctx, "k", "v"))
			return &handofftype.Result{TaskID: rec.ID, Success: true, Coverage: handofftype.Coverage{After: 91}}, nil
		})
		id := b.insert(t, 3, time.Minute)
		rec := b.waitFinal(t, id)
		require.Equal(t, handofftype.StateCompleted, rec.State)
		require.NotNil(t, rec.Success)
		require.True(t, *rec.Success)
		require.Equal(t, 91.0, rec.Result.Coverage.After)
		require.Equal(t, 1, rec.Attempt)
		require.False(t, rec.StartedAt.IsZero())
		require.False(t, rec.CompletedAt.IsZero())
		v, ok, err := store.TaskState{DB: b.db.SQL, TaskID: id}.Get(context.Background(), "k")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "v", v)
	})
}

func TestRetriesOnlyTransientFailures(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		var calls counter
		b := setup(t, dbURL, func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
			n := calls.inc(rec.ID)
			if strings.HasSuffix(rec.Request.Model, "transient") {
				return nil, handofftype.Classify(handofftype.FailureAgent, agent.Transient(fmt.Errorf("server busy (call %d)", n)))
			}
			return nil, errors.New("bad configuration")
		})
		transient := b.insertModel(t, "transient")
		permanent := b.insertModel(t, "permanent")

		rec := b.waitFinal(t, transient)
		require.Equal(t, handofftype.StateFailed, rec.State)
		require.Equal(t, 3, rec.Attempt, "a transient failure is retried up to max attempts")
		require.Equal(t, int32(3), calls.get(transient))
		require.Contains(t, rec.Result.Error, "gave up after 3 attempts")
		require.Equal(t, handofftype.FailureAgent, rec.Result.FailureClass, "the run's class, through the transient mark")

		rec = b.waitFinal(t, permanent)
		require.Equal(t, handofftype.StateFailed, rec.State)
		require.Equal(t, int32(1), calls.get(permanent), "a permanent failure is never retried")
		require.Contains(t, rec.Result.Error, "bad configuration")
		require.Equal(t, handofftype.FailureInternal, rec.Result.FailureClass, "an error of no class")
	})
}

func (b *bundle) insertModel(t *testing.T, model string) string {
	t.Helper()
	cov := 80.0
	id := fmt.Sprintf("task-%s-%d", model, taskSeq.Add(1))
	rec := &store.Record{ID: id, RequestHash: "h", Language: "go", State: handofftype.StateQueued,
		MaxAttempts: 3, CreatedAt: time.Now(),
		Request: handofftype.Request{Workspace: "/w", Module: "m.go", Output: "m_test.go", Agent: "test", Model: model, Coverage: &cov}}
	require.NoError(t, b.eng.Insert(context.Background(), rec, 3, time.Minute))
	return id
}

func TestTaskTimeoutIsTheTasksOwn(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		var deadline atomic.Value
		b := setup(t, dbURL, func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
			dl, _ := ctx.Deadline()
			deadline.Store(time.Until(dl))
			if rec.Request.Model == "short" {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return &handofftype.Result{TaskID: rec.ID}, nil
		})
		long := b.insert(t, 3, 3*time.Hour)
		require.Equal(t, handofftype.StateCompleted, b.waitFinal(t, long).State)
		require.Greater(t, deadline.Load().(time.Duration), 2*time.Hour, "River's 1-minute default must not apply")

		cov := 80.0
		rec := &store.Record{ID: "short-" + fmt.Sprint(taskSeq.Add(1)), RequestHash: "h",
			Language: "go", State: handofftype.StateQueued, MaxAttempts: 3, CreatedAt: time.Now(),
			Request: handofftype.Request{Workspace: "/w", Module: "m.go", Output: "m_test.go", Agent: "test", Model: "short", Coverage: &cov}}
		require.NoError(t, b.eng.Insert(context.Background(), rec, 3, 300*time.Millisecond))
		got := b.waitFinal(t, rec.ID)
		require.Equal(t, handofftype.StateFailed, got.State)
		require.Contains(t, got.Result.Error, "timed out after 300ms")
		require.Equal(t, handofftype.FailureTimeout, got.Result.FailureClass)
		require.Equal(t, 1, got.Attempt, "a timeout is not retried")
	})
}

func TestCancel(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		started := make(chan string, 1)
		var cause atomic.Value
		b := setup(t, dbURL, func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
			started <- rec.ID
			<-ctx.Done()
			cause.Store(context.Cause(ctx))
			return nil, ctx.Err()
		})
		id := b.insert(t, 3, time.Minute)
		require.Equal(t, id, <-started)
		rec, err := b.eng.Cancel(context.Background(), id)
		require.NoError(t, err)
		require.NotNil(t, rec)
		final := b.waitFinal(t, id)
		require.Equal(t, handofftype.StateCancelled, final.State)
		require.ErrorIs(t, cause.Load().(error), engine.ErrCancelRequested)
	})
}

func TestCancelQueuedNeverRuns(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, nil) // insert-only: nothing works the queue
		id := b.insert(t, 3, time.Minute)
		rec, err := b.eng.Cancel(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, handofftype.StateCancelled, rec.State)

		var ran sync.Map
		w := setup(t, dbURL, func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
			ran.Store(rec.ID, true)
			return &handofftype.Result{}, nil
		})
		other := w.insert(t, 3, time.Minute) // proves the worker is fetching
		require.Equal(t, handofftype.StateCompleted, w.waitFinal(t, other).State)
		_, cancelledRan := ran.Load(id)
		require.False(t, cancelledRan, "a task cancelled in the queue must never run")
		got, err := w.store.Get(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, handofftype.StateCancelled, got.State)
	})
}

// counter counts calls per task.
type counter struct{ m sync.Map }

func (c *counter) inc(id string) int32 {
	v, _ := c.m.LoadOrStore(id, new(atomic.Int32))
	return v.(*atomic.Int32).Add(1)
}

func (c *counter) get(id string) int32 {
	if v, ok := c.m.Load(id); ok {
		return v.(*atomic.Int32).Load()
	}
	return 0
}

// TestRescuesTaskOfDeadWorker leaves the database as a worker killed
// mid-task leaves it (job running, heartbeat stale) and checks that a live
// worker puts the task back and runs it to the end.
func TestRescuesTaskOfDeadWorker(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		dead := setup(t, dbURL, nil)
		id := dead.insert(t, 3, time.Minute)
		rec, err := dead.store.Get(ctx, id)
		require.NoError(t, err)
		_, err = dead.db.SQL.ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1 WHERE id = $1`, rec.JobID)
		require.NoError(t, err)
		running, err := dead.store.MarkRunning(ctx, store.Lease{TaskID: id, Attempt: 1}, time.Now().Add(-time.Hour))
		require.NoError(t, err)
		require.NotNil(t, running)
		again, err := dead.store.Get(ctx, id)
		require.NoError(t, err)
		again.JobState = ""
		require.Equal(t, again, running, "MarkRunning returns the task as a read after it would")
		require.Equal(t, handofftype.StateRunning, running.State)

		var attempt atomic.Int32
		live := setup(t, dbURL, func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
			attempt.Store(int32(env.Attempt))
			return &handofftype.Result{TaskID: rec.ID, Success: true}, nil
		})
		final := live.waitFinal(t, id)
		require.Equal(t, handofftype.StateCompleted, final.State)
		require.Equal(t, int32(2), attempt.Load(), "the rescued task runs as its second attempt")
	})
}

// TestPriorityOrdersTheQueue: with one worker slot, a critical task queued
// after a low one runs first.
func TestPriorityOrdersTheQueue(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		db, err := database.Open(ctx, dbURL, database.Options{Workers: 1})
		require.NoError(t, err)
		defer db.Close()
		order := make(chan string, 2)
		eng, err := engine.New(engine.Config{DB: db, Workers: 1, FetchInterval: 10 * time.Millisecond,
			Run: func(ctx context.Context, rec *store.Record, env *engine.Env) (*handofftype.Result, error) {
				order <- rec.Request.Model
				return &handofftype.Result{}, nil
			}})
		require.NoError(t, err)
		defer eng.Close()
		cov := 80.0
		for i, p := range []struct {
			name  string
			level int
		}{{"low", 4}, {"critical", 1}} {
			rec := &store.Record{ID: fmt.Sprintf("prio-%d-%d", i, taskSeq.Add(1)), RequestHash: "h",
				Language: "go", State: handofftype.StateQueued, MaxAttempts: 3, CreatedAt: time.Now(),
				Request: handofftype.Request{Workspace: "/w", Module: "m.go", Output: "m_test.go", Agent: "a", Model: p.name, Coverage: &cov}}
			require.NoError(t, eng.Insert(ctx, rec, p.level, time.Minute))
		}
		require.NoError(t, eng.Start(ctx, engine.Serving{}))
		defer eng.Stop(context.Background(), time.Second)
		require.Equal(t, "critical", <-order)
		require.Equal(t, "low", <-order)
	})
}
