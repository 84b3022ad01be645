package handoff

import (
	"context"
	"fmt"
	"time"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/store"
)

// WaitOptions bound a wait for a result.
type WaitOptions struct {
	// Timeout ends the wait (not the task) with ErrWaitTimeout. Zero means
	// wait until the context ends.
	Timeout time.Duration
	// PollInterval is how often the database is read for a task worked by
	// another process. A task worked by this process wakes the waiter at
	// once, and on PostgreSQL so does one worked by any process (a
	// notification): the poll is then only the fallback for a moment the
	// notification was lost. Zero means one second.
	PollInterval time.Duration
}

// Wait waits for a task's final result. On timeout it returns an error
// matching ErrWaitTimeout and the task keeps running.
func (c *Client) Wait(ctx context.Context, id string, w WaitOptions) (*Result, error) {
	if w.PollInterval <= 0 {
		w.PollInterval = time.Second
	}
	id, err := c.resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	var timeout <-chan time.Time
	if w.Timeout > 0 {
		t := time.NewTimer(w.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	tick := time.NewTicker(w.PollInterval)
	defer tick.Stop()
	for {
		if res, err := c.readOrWait(ctx, id, tick.C, timeout, w.Timeout); res != nil || err != nil {
			return res, err
		}
	}
}

// readOrWait reads the task once and returns its result if it is final;
// otherwise it waits for a sign that it may be (the engine's signal, the
// poll's tick) and returns nothing, or for the end of the wait, an error.
func (c *Client) readOrWait(ctx context.Context, id string, tick, timeout <-chan time.Time, after time.Duration) (*Result, error) {
	done, release := c.eng.Done(id) // before the read, so that no completion slips between
	defer release()
	rec, err := c.get(ctx, id)
	if err != nil {
		return nil, err
	}
	st := c.statusOf(rec)
	if st.State.Final() {
		return c.applyWaiting(ctx, rec, resultOf(rec, st.State))
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timeout:
		return nil, fmt.Errorf("%w: task %s is %s after %s", ErrWaitTimeout, id, st.State, after)
	case <-done:
	case <-tick:
	}
	return nil, nil
}

// resultOf returns the task's final result: the one its worker recorded,
// or, for a task that ended without a worker writing one (discarded or
// cancelled in the queue), one built from the record.
func resultOf(rec *store.Record, state handofftype.State) *Result {
	return engine.Result(rec, rec.Result, engine.Outcome{State: state})
}

// Results is the former name of Wait.
//
// Deprecated: use Wait. Results goes in the release after next.
func (c *Client) Results(ctx context.Context, id string, w WaitOptions) (*Result, error) {
	return c.Wait(ctx, id, w)
}

// Generate submits r and waits for its result: the blocking form.
func (c *Client) Generate(ctx context.Context, r Request, w WaitOptions) (*Result, error) {
	id, err := c.Submit(ctx, r)
	if err != nil {
		return nil, err
	}
	return c.Wait(ctx, id, w)
}
