package engine

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/handoff-dev/handoff/internal/store"
)

// DeleteTasks removes final tasks, their agent state and their River jobs
// in one transaction. It returns the IDs of the tasks removed and of the
// jobs removed. River's job cleaner removes finished jobs on its own after a
// day (a week for discarded ones); this reaches those it has not yet. A job
// River still holds as running is never deleted.
func (e *Engine) DeleteTasks(ctx context.Context, ps []store.Prunable) (tasks []string, jobs []int64, err error) {
	if len(ps) == 0 {
		return nil, nil, nil
	}
	ids := make([]string, len(ps))
	var jobIDs []int64
	for i, p := range ps {
		ids[i] = p.ID
		if p.JobID != 0 {
			jobIDs = append(jobIDs, p.JobID)
		}
	}
	tx, err := e.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if len(jobIDs) > 0 {
		res, err := e.river.JobDeleteManyTx(ctx, tx, river.NewJobDeleteManyParams().IDs(jobIDs...).First(len(jobIDs)).
			States(rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded))
		if err != nil {
			return nil, nil, fmt.Errorf("deleting River jobs: %w", err)
		}
		for _, j := range res.Jobs {
			jobs = append(jobs, j.ID)
		}
	}
	if tasks, err = store.DeleteTasks(ctx, tx, ids); err != nil {
		return nil, nil, err
	}
	return tasks, jobs, tx.Commit()
}
