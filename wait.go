package handoff

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/task"
)

// WaitOptions bound a wait for a result.
type WaitOptions struct {
	// Timeout ends the wait (not the task) with ErrWaitTimeout. Zero means
	// wait until the context ends.
	Timeout time.Duration
	// PollInterval is how often the database is read for a task worked by
	// another process. A task worked by this process wakes the waiter at
	// once. Zero means one second.
	PollInterval time.Duration
}

// Results waits for a task's final result. On timeout it returns an error
// matching ErrWaitTimeout and the task keeps running.
func (c *Client) Results(ctx context.Context, id string, w WaitOptions) (*Result, error) {
	if w.PollInterval <= 0 {
		w.PollInterval = time.Second
	}
	done, release := c.eng.Done(id) // before the first read, so no completion slips between
	defer release()
	var timeout <-chan time.Time
	if w.Timeout > 0 {
		t := time.NewTimer(w.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	tick := time.NewTicker(w.PollInterval)
	defer tick.Stop()
	for {
		rec, err := c.get(ctx, id)
		if err != nil {
			return nil, err
		}
		if st := c.statusOf(rec); st.State.Final() {
			return resultOf(rec, st.State), nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timeout:
			st := c.statusOf(rec)
			return nil, fmt.Errorf("%w: task %s is %s after %s", ErrWaitTimeout, id, st.State, w.Timeout)
		case <-done:
			done = nil // read the final record; a nil channel never fires again
		case <-tick.C:
		}
	}
}

// resultOf returns the stored result, or one made from the record when the
// task ended without a worker writing it (discarded or cancelled in the queue).
func resultOf(rec *store.Record, state task.State) *Result {
	if rec.Result != nil {
		r := *rec.Result
		r.Status = state
		return &r
	}
	msg := rec.LastError
	if msg == "" {
		msg = strings.ToLower(string(state))
	}
	return &Result{TaskID: rec.ID, Status: state, ModulePath: rec.Request.Module, OutputPath: rec.Request.Output,
		Language: rec.Language, Error: msg, Attempts: rec.Attempt,
		Agent: task.AgentInfo{Name: rec.Request.Agent, Model: rec.Request.Model}}
}

// Generate submits r and waits for its result: the blocking form.
func (c *Client) Generate(ctx context.Context, r Request, w WaitOptions) (*Result, error) {
	id, err := c.Submit(ctx, r)
	if err != nil {
		return nil, err
	}
	return c.Results(ctx, id, w)
}
