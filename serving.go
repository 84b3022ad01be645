package handoff

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/engine"
	"github.com/handoff-dev/handoff/internal/snapstore"
	"github.com/handoff-dev/handoff/internal/store"
)

// What `handoff serve` needs of a client beyond the public calls.

// Snapshots is the database's snapshot store, into which the HTTP API
// takes uploaded workspaces (blobs, trees, archives).
func (c *Client) Snapshots() *snapstore.Store { return c.snaps }

// TaskStore is the store of handoff's own tables (API tokens among them).
func (c *Client) TaskStore() *store.Store { return c.store }

// Ready reports whether the database answers and holds every migration
// this handoff knows.
func (c *Client) Ready(ctx context.Context) error {
	have, err := store.AppliedMigrations(ctx, c.db.SQL)
	if err != nil {
		return err
	}
	if want := len(store.Migrations()); len(have) != want {
		return fmt.Errorf("the database holds %d of handoff's %d migrations; start handoff once with write access to migrate it", len(have), want)
	}
	return nil
}

// RecordApplied records that the submitter wrote a finished task's
// waiting kept tests where its workspace is (a client of the HTTP API,
// whose workspace this machine does not see): apply says how, files
// which files it wrote. The waiting files are dropped. One submitter
// records: a task already applied is returned as it is.
func (c *Client) RecordApplied(ctx context.Context, id string, apply handofftype.ApplyInfo, files []string) (*Result, error) {
	rec, err := c.get(ctx, id)
	if err != nil {
		return nil, err
	}
	st := c.statusOf(rec)
	if !st.State.Final() {
		return nil, fmt.Errorf("%w: task %s is %s; its kept tests can be applied once it has finished", ErrInvalidRequest, rec.ID, st.State)
	}
	res := resultOf(rec, st.State)
	if !res.Apply.Pending {
		return res, nil
	}
	claimed, err := c.store.ClaimApply(ctx, rec.ID, engine.Requester()+" for the submitter")
	if err != nil || !claimed {
		return res, err
	}
	apply.Mode, apply.Pending, apply.Where = res.Apply.Mode, false, "submitter"
	res.Apply = apply
	res.Files = slices.Clone(files)
	if err := c.store.Applied(context.WithoutCancel(ctx), rec.ID, res); err != nil {
		_ = c.store.ReleaseApply(context.WithoutCancel(ctx), rec.ID)
		return nil, err
	}
	return res, nil
}

// Inspect returns a task's status and, once it is final, its result as
// recorded: unlike Wait it never waits, and never applies kept tests that
// wait for the submitter. What the dashboard of `handoff serve` shows.
func (c *Client) Inspect(ctx context.Context, id string) (*Status, *Result, error) {
	rec, err := c.get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	st := c.statusOf(rec)
	if st.State == StateQueued {
		if ws, err := c.Workers(ctx); err == nil {
			st.Waiting = waiting(rec, ws)
		}
	}
	if !st.State.Final() {
		return st, nil, nil
	}
	return st, resultOf(rec, st.State), nil
}

// QueueUI is River's own UI on this client's database, for requests under
// prefix (see engine.QueueUI); its background work runs until ctx ends.
func (c *Client) QueueUI(ctx context.Context, prefix string) (http.Handler, error) {
	return c.eng.QueueUI(ctx, prefix)
}
