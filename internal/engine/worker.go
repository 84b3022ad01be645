package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/task"
)

type jobWorker struct {
	river.WorkerDefaults[jobArgs]
	e *Engine
}

// Timeout is the task's own timeout: River's client-wide default never applies.
func (w *jobWorker) Timeout(job *river.Job[jobArgs]) time.Duration {
	if job.Args.TimeoutMS <= 0 {
		return 30 * time.Minute
	}
	return time.Duration(job.Args.TimeoutMS) * time.Millisecond
}

func (w *jobWorker) Work(ctx context.Context, job *river.Job[jobArgs]) error {
	e := w.e
	id := job.Args.TaskID
	rec, err := e.store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("task %s has no record", id))
	}
	if err != nil {
		return err
	}
	if rec.CancelRequested {
		return w.finish(ctx, rec, task.StateCancelled, cancelledResult(rec))
	}
	ok, err := e.store.MarkRunning(ctx, id, job.Attempt, time.Now())
	if err != nil {
		return err
	}
	if !ok {
		return nil // already final: cancelled while queued
	}
	rec.Attempt = job.Attempt

	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	e.mu.Lock()
	e.running[id] = cancel
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.running, id)
		e.mu.Unlock()
	}()

	beatDone := make(chan struct{})
	go func() {
		defer close(beatDone)
		e.beat(rctx, id, cancel)
	}()
	env := &Env{
		Attempt:  job.Attempt,
		Progress: func(text string) { _ = e.store.SetProgress(context.WithoutCancel(rctx), id, text) },
		State:    store.TaskState{DB: e.db.SQL, TaskID: id},
	}
	res, runErr := e.cfg.Run(rctx, rec, env)
	cause := context.Cause(rctx)
	cancel(nil)
	<-beatDone

	e.mu.Lock()
	stopping := e.stopping
	e.mu.Unlock()
	switch {
	case errors.Is(cause, ErrCancelRequested):
		return w.finish(ctx, rec, task.StateCancelled, cancelledResult(rec))
	case stopping && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		// Interrupted by our own shutdown: back to the queue without using up an attempt.
		_ = e.store.MarkRetrying(context.WithoutCancel(ctx), id, "worker stopped mid-task; task requeued")
		return river.JobSnooze(time.Second)
	case runErr == nil && res == nil:
		return w.finish(ctx, rec, task.StateFailed, failedResult(rec, "internal error: the run returned no result"))
	case runErr == nil:
		res.Status = task.StateCompleted
		res.Attempts = job.Attempt
		return w.finish(ctx, rec, task.StateCompleted, res)
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(runErr, context.DeadlineExceeded):
		timeout := w.Timeout(job)
		return w.finish(ctx, rec, task.StateFailed, withError(res, rec,
			fmt.Sprintf("task timed out after %s; raise it with --timeout if the agent needs longer", timeout)))
	case agent.IsTransient(runErr) && job.Attempt < job.MaxAttempts:
		msg := fmt.Sprintf("attempt %d of %d failed: %v", job.Attempt, job.MaxAttempts, runErr)
		_ = e.store.MarkRetrying(context.WithoutCancel(ctx), id, msg)
		return runErr
	default:
		msg := runErr.Error()
		if agent.IsTransient(runErr) {
			msg = fmt.Sprintf("gave up after %d attempts: %v", job.Attempt, runErr)
		}
		return w.finish(ctx, rec, task.StateFailed, withError(res, rec, msg))
	}
}

// finish records the final state (with a context that outlives the job's)
// and wakes in-process waiters.
func (w *jobWorker) finish(ctx context.Context, rec *store.Record, state task.State, res *task.Result) error {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	res.Status = state
	if _, err := w.e.store.Finish(fctx, rec.ID, state, res, time.Now()); err != nil {
		return fmt.Errorf("recording the result of task %s: %w", rec.ID, err)
	}
	w.e.finished(fctx, rec)
	return nil
}

// beat refreshes the task's heartbeat until ctx ends and cancels the task
// when a cancel request arrives from another process.
func (e *Engine) beat(ctx context.Context, id string, cancel context.CancelCauseFunc) {
	t := time.NewTicker(e.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			requested, err := e.store.Heartbeat(ctx, id, time.Now())
			if err != nil {
				if ctx.Err() == nil {
					e.cfg.Logger.Warn("task heartbeat failed", "task_id", id, "error", err)
				}
				continue
			}
			if requested {
				cancel(ErrCancelRequested)
				return
			}
		}
	}
}

func cancelledResult(rec *store.Record) *task.Result {
	res := failedResult(rec, "cancelled by request")
	res.Status = task.StateCancelled
	return res
}

func withError(res *task.Result, rec *store.Record, msg string) *task.Result {
	if res == nil {
		return failedResult(rec, msg)
	}
	res.Error = msg
	res.Attempts = rec.Attempt
	return res
}
