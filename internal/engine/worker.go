package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/store"
)

type jobWorker struct {
	river.WorkerDefaults[jobArgs]
	e *Engine
}

// Timeout is the task's own timeout: River's client-wide default never applies.
func (w *jobWorker) Timeout(job *river.Job[jobArgs]) time.Duration {
	if job.Args.TimeoutMS <= 0 {
		return handofftype.DefaultTimeout
	}
	return time.Duration(job.Args.TimeoutMS) * time.Millisecond
}

// Work runs one attempt. The attempt owns its task from MarkRunning on, as
// long as it keeps its heartbeat; every write it makes is conditional on
// that ownership, and an attempt that loses it stops without writing.
func (w *jobWorker) Work(ctx context.Context, job *river.Job[jobArgs]) error {
	e := w.e
	id := job.Args.TaskID
	// Over this worker's slots (its queues together may fetch more) or its
	// agent's limit: back to the queue untouched, for later or another
	// worker. The task stays QUEUED and no attempt is used.
	if !e.admit(job.Args.Agent) {
		return river.JobSnooze(admitBackoff)
	}
	defer e.leave(job.Args.Agent)
	// The attempt can be cancelled from here on: a cancel request after
	// MarkRunning's read finds it among the running.
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
	lease := store.Lease{TaskID: id, Attempt: job.Attempt}
	rec, err := e.store.MarkRunning(ctx, lease, time.Now())
	if err != nil {
		return err
	}
	if rec == nil {
		// Missing, final already (cancelled while queued), or a later attempt owns it.
		now, err := e.store.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return river.JobCancel(fmt.Errorf("task %s has no record", id))
		}
		if err != nil {
			return err
		}
		return river.JobCancel(fmt.Errorf("task %s is no longer this job's to run (it is %s)", id, now.State))
	}
	if rec.CancelRequested {
		return w.conclude(ctx, job, rec, nil, ErrCancelRequested, ErrCancelRequested)
	}

	// The heartbeat lasts until the run returns, not until its context
	// ends: a cancelled agent may take a while to stop, and its attempt
	// keeps the task meanwhile.
	bctx, stopBeat := context.WithCancel(context.WithoutCancel(ctx))
	beatDone := make(chan struct{})
	go func() {
		defer close(beatDone)
		e.beat(bctx, lease, cancel)
	}()
	env := &Env{
		Attempt: job.Attempt,
		Progress: func(text string) {
			pctx, done := context.WithTimeout(context.WithoutCancel(rctx), e.cfg.HeartbeatTimeout)
			defer done()
			switch err := e.store.SetProgress(pctx, lease, text); {
			case errors.Is(err, store.ErrLeaseLost):
				cancel(err)
			case err == nil:
				e.publish(store.EventProgress, id)
			}
		},
		State: store.TaskState{DB: e.db.SQL, TaskID: id, Attempt: job.Attempt},
		Confirm: func(ctx context.Context) error {
			requested, err := e.store.Heartbeat(ctx, lease, time.Now())
			switch {
			case errors.Is(err, store.ErrLeaseLost):
				cancel(err)
			case err == nil && requested:
				err = ErrCancelRequested
				cancel(err)
			}
			return err
		},
	}
	res, runErr := e.cfg.Run(rctx, rec, env)
	stopBeat()
	<-beatDone
	return w.conclude(ctx, job, rec, res, runErr, context.Cause(rctx))
}

// admitBackoff is how long a task this worker has no room for waits
// before a worker may take it again.
const admitBackoff = time.Second

// admit takes a slot for a task of agent when this worker has one free
// (Workers in all, AgentLimits per agent); leave gives it back.
func (e *Engine) admit(agent string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.admitted >= e.cfg.Workers {
		return false
	}
	if limit := e.cfg.AgentLimits[agent]; limit > 0 && e.byAgent[agent] >= limit {
		return false
	}
	e.admitted++
	e.byAgent[agent]++
	return true
}

func (e *Engine) leave(agent string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.admitted--
	if e.byAgent[agent]--; e.byAgent[agent] <= 0 {
		delete(e.byAgent, agent)
	}
}

// conclude records how the attempt ended. The database's cancel request
// decides first: whatever error the cancel made the agent or verification
// return, and whichever path told the attempt (this process, the heartbeat,
// River's remote cancel), a task whose cancel was requested ends CANCELLED.
// Only an attempt that already wrote its tests to the workspace keeps its
// verdict.
func (w *jobWorker) conclude(ctx context.Context, job *river.Job[jobArgs], rec *store.Record, res *handofftype.Result,
	runErr, cause error) error {
	e := w.e
	lease := store.Lease{TaskID: rec.ID, Attempt: job.Attempt}
	if errors.Is(cause, store.ErrLeaseLost) {
		// Another worker rescued the task, or will: write nothing. River
		// completes nothing either: a rescue retired this attempt's job, and
		// otherwise the error makes River retry it.
		e.cfg.Logger.Warn("attempt stopped: it lost its task", "task_id", rec.ID, "attempt", job.Attempt, "cause", cause)
		return fmt.Errorf("attempt %d of task %s stopped: %w", job.Attempt, rec.ID, cause)
	}
	wctx, done := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer done()
	requested, by, err := e.store.CancelRequest(wctx, rec.ID)
	if err != nil {
		return fmt.Errorf("reading task %s: %w", rec.ID, err)
	}
	e.mu.Lock()
	stopping := e.stopping
	e.mu.Unlock()
	applied := runErr == nil && res != nil && res.Apply.Applied
	switch {
	case requested && !applied:
		return w.end(wctx, job, rec, Result(rec, nil, Outcome{State: handofftype.StateCancelled, Error: ErrCancelRequested.Error(), CancelledBy: by}))
	case stopping && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		// Interrupted by our own shutdown: back to the queue without using up an attempt.
		if err := e.store.MarkRetrying(wctx, lease, "worker stopped mid-task; task requeued"); err != nil {
			e.cfg.Logger.Warn("requeueing an interrupted task failed", "task_id", rec.ID, "error", err)
		}
		return river.JobSnooze(time.Second)
	case errors.Is(runErr, ErrGiveBack):
		if err := e.store.MarkRetrying(wctx, lease, runErr.Error()); err != nil {
			e.cfg.Logger.Warn("giving a task back failed", "task_id", rec.ID, "error", err)
		}
		return river.JobSnooze(giveBackFor)
	case runErr == nil && res == nil:
		return w.end(wctx, job, rec, Result(rec, nil, Outcome{State: handofftype.StateFailed, Error: "internal error: the run returned no result"}))
	case runErr == nil:
		return w.end(wctx, job, rec, Result(rec, res, Outcome{State: handofftype.StateCompleted}))
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		// Only the task's own deadline is a task timeout; an agent's inner
		// deadline (a time budget) fails with its own message below.
		timeout := w.Timeout(job)
		return w.end(wctx, job, rec, Result(rec, res, Outcome{State: handofftype.StateFailed, Class: handofftype.FailureTimeout,
			Error: fmt.Sprintf("task timed out after %s; raise it with --timeout if the agent needs longer", timeout)}))
	case agent.IsTransient(runErr) && job.Attempt < job.MaxAttempts:
		msg := fmt.Sprintf("attempt %d of %d failed: %v", job.Attempt, job.MaxAttempts, runErr)
		if err := e.store.MarkRetrying(wctx, lease, msg); err != nil {
			e.cfg.Logger.Warn("requeueing a task after a transient failure failed", "task_id", rec.ID, "error", err)
		}
		return runErr
	default:
		msg := runErr.Error()
		if agent.IsTransient(runErr) {
			msg = fmt.Sprintf("gave up after %d attempts: %v", job.Attempt, runErr)
		}
		return w.end(wctx, job, rec, Result(rec, res, Outcome{State: handofftype.StateFailed, Error: msg, Class: handofftype.ClassOf(runErr)}))
	}
}

// end records the attempt's final state (res.State) and result, wakes
// in-process waiters, and gives River the same verdict: completed,
// cancelled, or discarded for a failure. It writes nothing when the attempt
// no longer owns the task.
func (w *jobWorker) end(ctx context.Context, job *river.Job[jobArgs], rec *store.Record, res *handofftype.Result) error {
	state := res.State
	lease := store.Lease{TaskID: rec.ID, Attempt: job.Attempt}
	ok, err := w.e.store.FinishAttempt(ctx, lease, state, res, time.Now())
	if err != nil {
		return fmt.Errorf("recording the result of task %s: %w", rec.ID, err)
	}
	if !ok {
		w.e.cfg.Logger.Warn("attempt ended after losing its task; its result is dropped", "task_id", rec.ID, "attempt", job.Attempt)
		return fmt.Errorf("attempt %d of task %s: %w", job.Attempt, rec.ID, store.ErrLeaseLost)
	}
	w.e.finished(ctx, rec)
	switch state {
	case handofftype.StateCompleted:
		return nil
	case handofftype.StateCancelled:
		return river.JobCancel(ErrCancelRequested)
	}
	// River discards a job whose last attempt fails; this attempt is the
	// last. River reads the attempt counts from this job row when Work returns.
	job.MaxAttempts = job.Attempt
	return errors.New(res.Error)
}

// beat refreshes the attempt's heartbeat until ctx ends. It stops the
// attempt (cancel, with a cause) when a cancel request arrives, when the
// attempt lost its task, and when no beat got through for the heartbeat
// timeout: by then any live worker may rescue the task, so this one must
// not go on.
func (e *Engine) beat(ctx context.Context, l store.Lease, cancel context.CancelCauseFunc) {
	t := time.NewTicker(e.cfg.HeartbeatInterval)
	defer t.Stop()
	expires := time.Now().Add(e.cfg.HeartbeatTimeout) // MarkRunning was the first beat
	expiry := time.NewTimer(e.cfg.HeartbeatTimeout)
	defer expiry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-expiry.C:
			cancel(fmt.Errorf("%w: no heartbeat got through for %s", store.ErrLeaseLost, e.cfg.HeartbeatTimeout))
			return
		case <-t.C:
		}
		sent := time.Now()
		qctx, done := context.WithDeadline(ctx, expires) // a stalled database cannot hold the beat past the lease
		requested, err := e.store.Heartbeat(qctx, l, sent)
		done()
		switch {
		case errors.Is(err, store.ErrLeaseLost):
			cancel(err)
			return
		case err != nil:
			if ctx.Err() == nil {
				e.cfg.Logger.Warn("task heartbeat failed", "task_id", l.TaskID, "error", err, "lease_left", time.Until(expires))
			}
		default:
			expires = sent.Add(e.cfg.HeartbeatTimeout)
			expiry.Reset(time.Until(expires))
			if requested {
				cancel(ErrCancelRequested)
			}
		}
	}
}
