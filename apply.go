package handoff

import (
	"context"
	"errors"
	"fmt"

	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/store"
)

// ErrNotHere is returned by Apply on a machine that does not see the task's
// workspace (the submitter's repository with the task's snapshot).
var ErrNotHere = errors.New("the task's workspace is not on this machine")

// Apply writes a finished task's kept tests into its workspace when a
// worker that did not see the workspace ran it (Result.Apply.Pending), by
// the rules a worker applies them by: never over a file the user changed
// since the snapshot, and verified again against the module as it is now
// when the module moved. It returns the result as it is then; a task with
// nothing waiting is returned as it is. Wait and Generate call it for you.
func (c *Client) Apply(ctx context.Context, id string) (*Result, error) {
	id, err := c.resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	rec, err := c.get(ctx, id)
	if err != nil {
		return nil, err
	}
	st := c.statusOf(rec)
	if !st.State.Final() {
		return nil, fmt.Errorf("%w: task %s is %s; its kept tests can be applied once it has finished", ErrInvalidRequest, id, st.State)
	}
	res := resultOf(rec, st.State)
	if !res.Apply.Pending {
		return res, nil
	}
	if !rec.Snapshot.Here(ctx) {
		return res, fmt.Errorf("%w: run it on the machine that submitted task %s, in %s", ErrNotHere, id, rec.Request.Workspace)
	}
	return c.applyHere(ctx, rec, res)
}

// applyWaiting applies res's waiting kept tests when this machine sees the
// task's workspace; otherwise, or when nothing waits, it returns res as it
// is.
func (c *Client) applyWaiting(ctx context.Context, rec *store.Record, res *Result) (*Result, error) {
	if !res.Apply.Pending || !rec.Snapshot.Here(ctx) {
		return res, nil
	}
	return c.applyHere(ctx, rec, res)
}

// applyHere writes res's waiting kept tests into the task's workspace,
// which this machine sees. One caller applies: another that comes later
// reads what it stored.
func (c *Client) applyHere(ctx context.Context, rec *store.Record, res *Result) (*Result, error) {
	claimed, err := c.store.ClaimApply(ctx, rec.ID, engine.Requester())
	if err != nil {
		return nil, err
	}
	if !claimed {
		// Another process is applying them, or has: read what it stored.
		again, err := c.get(ctx, rec.ID)
		if err != nil {
			return nil, err
		}
		return resultOf(again, again.State), nil
	}
	files, err := c.store.KeptFiles(ctx, rec.ID)
	if err == nil && len(files) == 0 {
		err = errors.New("the kept tests are no longer in the database")
	}
	if err == nil {
		err = c.runner.ApplyWaiting(ctx, rec, res, files)
	}
	if err == nil {
		err = c.store.Applied(context.WithoutCancel(ctx), rec.ID, res)
	}
	if err != nil {
		_ = c.store.ReleaseApply(context.WithoutCancel(ctx), rec.ID)
		return nil, fmt.Errorf("applying the kept tests of task %s: %w", rec.ID, err)
	}
	return res, nil
}
