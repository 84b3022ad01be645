package engine

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/handoff-dev/handoff/internal/store"
)

// The engine is the one package that reads and writes River's jobs: through
// River's API where it has one (JobGet and JobList here, JobCancel,
// JobDeleteMany), and in SQL of its own only for what River offers no call
// for (retireJob, requeueOnNewJob). The store reads handoff's tables alone.

// QueueFor names the River queue of tasks for modules in language run by
// agent: a worker works the queues of what it can serve, so it never
// fetches a task it cannot run.
func QueueFor(language, agent string) string {
	return queueName("t_" + language + "_" + agent)
}

// queueName makes s a valid River queue name: lower-case letters and
// digits in runs joined by single '_' or '-', at most 64 characters.
func queueName(s string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(r)
		default:
			sep = true
		}
		if b.Len() >= 64 {
			break
		}
	}
	out := b.String()
	if len(out) > 64 {
		out = strings.TrimRight(out[:64], "_")
	}
	return out
}

// Get returns a task's record with its River job's state.
func (e *Engine) Get(ctx context.Context, id string) (*store.Record, error) {
	rec, err := e.store.Get(ctx, id)
	if err != nil || rec.JobID == 0 {
		return rec, err
	}
	job, err := e.river.JobGet(ctx, rec.JobID)
	switch {
	case errors.Is(err, river.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		rec.JobState = string(job.State)
	}
	return rec, nil
}

// List returns tasks as store.List does, each with its River job's state.
func (e *Engine) List(ctx context.Context, f store.Filter) ([]*store.Record, error) {
	recs, err := e.store.List(ctx, f)
	if err != nil {
		return nil, err
	}
	return recs, e.withJobStates(ctx, recs)
}

// Prunable returns the final tasks f chooses, as store.Prunable does, less
// those whose River job is not finished yet (its worker has recorded the
// verdict and is returning): a later prune takes them. A task whose job
// River no longer holds (its cleaner removes old jobs) has JobID 0.
func (e *Engine) Prunable(ctx context.Context, f store.PruneFilter) ([]store.Prunable, error) {
	ps, err := e.store.Prunable(ctx, f)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(ps))
	for _, p := range ps {
		ids = append(ids, p.JobID)
	}
	states, err := e.jobStates(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := ps[:0]
	for _, p := range ps {
		st, held := states[p.JobID]
		switch {
		case !held:
			p.JobID = 0
		case st != rivertype.JobStateCompleted && st != rivertype.JobStateCancelled && st != rivertype.JobStateDiscarded:
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// withJobStates fills each record's JobState from River; a job River no
// longer holds leaves it "".
func (e *Engine) withJobStates(ctx context.Context, recs []*store.Record) error {
	ids := make([]int64, 0, len(recs))
	for _, r := range recs {
		ids = append(ids, r.JobID)
	}
	states, err := e.jobStates(ctx, ids)
	if err != nil {
		return err
	}
	for _, r := range recs {
		r.JobState = string(states[r.JobID])
	}
	return nil
}

// jobListPage is how many jobs one JobList call asks for (River takes at
// most 10,000).
const jobListPage = 1000

// jobStates returns the state of each job River holds among ids.
func (e *Engine) jobStates(ctx context.Context, ids []int64) (map[int64]rivertype.JobState, error) {
	states := map[int64]rivertype.JobState{}
	ids = slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return id == 0 })
	for page := range slices.Chunk(ids, jobListPage) {
		res, err := e.river.JobList(ctx, river.NewJobListParams().IDs(page...).First(len(page)))
		if err != nil {
			return nil, err
		}
		for _, j := range res.Jobs {
			states[j.ID] = j.State
		}
	}
	return states, nil
}
