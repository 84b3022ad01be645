package handoff

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// PruneOptions says which finished tasks Prune removes. Queued and running
// tasks are never removed. At least one of OlderThan and KeepLast must be
// set: the zero value removes nothing and is refused.
type PruneOptions struct {
	// OlderThan removes tasks that finished more than this long ago; zero
	// means any age.
	OlderThan time.Duration
	// KeepLast keeps the KeepLast most recently finished tasks whatever
	// their age.
	KeepLast int
	// DryRun reports what would be removed and removes nothing.
	DryRun bool
}

// PruneReport says what Prune removed or, in a dry run, would remove.
type PruneReport struct {
	DryRun bool         `json:"dry_run"`
	Tasks  []PrunedTask `json:"tasks"`
	// Skipped are tasks Prune chose but kept, because something they hold
	// outside the database could not be removed; a later prune tries again.
	Skipped []PruneSkip `json:"skipped,omitempty"`
	// Snapshots counts what left the database's snapshot store: the trees
	// no remaining task names, and the file contents no remaining tree
	// names. A tree stored within the last hour stays.
	Snapshots PrunedSnapshots `json:"snapshots"`
}

// PrunedSnapshots counts the workspace snapshots Prune removed from the
// database.
type PrunedSnapshots struct {
	Trees int   `json:"trees"`
	Blobs int   `json:"blobs"`
	Bytes int64 `json:"bytes"` // uncompressed
}

// snapshotGrace spares trees stored lately, which a task being submitted
// may name before its record is written.
const snapshotGrace = time.Hour

// PrunedTask is one task removed: its record, agent state and River job,
// its workspace snapshot and its directory of logs.
type PrunedTask struct {
	ID          string    `json:"task_id"`
	State       State     `json:"status"`
	CompletedAt time.Time `json:"completed_at"`
	Workspace   string    `json:"workspace"`
	AgentState  int       `json:"agent_state_keys"`       // durable agent state entries
	JobID       int64     `json:"river_job_id,omitempty"` // River's job row, when River had not cleaned it yet
	Snapshot    string    `json:"snapshot,omitempty"`     // refs/handoff/<id> or the copy directory, when still held
	Logs        string    `json:"logs,omitempty"`         // <workspace>/.handoff/tasks/<id>, when present
}

// PruneSkip is a task Prune chose but kept, and why.
type PruneSkip struct {
	ID    string `json:"task_id"`
	Error string `json:"error"`
}

// pruneBatch is how many tasks one transaction removes.
const pruneBatch = 100

// Prune removes finished tasks (COMPLETED, FAILED, CANCELLED) as o says:
// their records, agent state and River jobs, and what they kept on disk (the
// workspace snapshot, if still held, and .handoff/tasks/<id>). Files go
// first, then the rows, so an interrupted prune leaves nothing a later one
// cannot find. By default handoff keeps everything; see docs/operations.md
// for how the database grows.
func (c *Client) Prune(ctx context.Context, o PruneOptions) (*PruneReport, error) {
	if o.OlderThan < 0 || o.KeepLast < 0 {
		return nil, fieldError("PruneOptions.OlderThan", "an age or a count below zero; give 0 or more")
	}
	if o.OlderThan == 0 && o.KeepLast == 0 {
		return nil, fieldError("PruneOptions.OlderThan", "say which finished tasks to remove: those older than an age (PruneOptions.OlderThan), all but the last N (PruneOptions.KeepLast), or both")
	}
	f := store.PruneFilter{KeepLast: o.KeepLast}
	if o.OlderThan > 0 {
		f.Before = time.Now().Add(-o.OlderThan)
	}
	chosen, err := c.eng.Prunable(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("prune: choosing tasks: %w", err)
	}
	rep := &PruneReport{DryRun: o.DryRun, Tasks: []PrunedTask{}}
	held := map[string]map[string]string{} // workspace → snapshot ID → what holds it
	for batch := range slices.Chunk(chosen, pruneBatch) {
		var (
			clean []store.Prunable
			pts   = map[string]PrunedTask{}
		)
		for _, p := range batch {
			pt, err := c.pruneFiles(ctx, p, held, o.DryRun)
			if err != nil {
				rep.Skipped = append(rep.Skipped, PruneSkip{ID: p.ID, Error: err.Error()})
				continue
			}
			clean = append(clean, p)
			pts[p.ID] = pt
		}
		if o.DryRun {
			for _, p := range clean {
				rep.Tasks = append(rep.Tasks, pts[p.ID])
			}
			continue
		}
		gone, jobs, err := c.eng.DeleteTasks(ctx, clean)
		if err != nil {
			return rep, fmt.Errorf("prune: %w", err)
		}
		for _, id := range gone { // another prune may have removed some first
			pt := pts[id]
			if !slices.Contains(jobs, pt.JobID) {
				pt.JobID = 0
			}
			rep.Tasks = append(rep.Tasks, pt)
		}
	}
	if o.DryRun {
		return rep, nil
	}
	trees, err := c.store.SnapshotTrees(ctx)
	if err != nil {
		return rep, fmt.Errorf("prune: %w", err)
	}
	st, err := c.snaps.Prune(ctx, trees, time.Now().Add(-snapshotGrace))
	if err != nil {
		return rep, fmt.Errorf("prune: stored snapshots: %w", err)
	}
	rep.Snapshots = PrunedSnapshots{Trees: st.Trees, Blobs: st.Blobs, Bytes: st.Bytes}
	return rep, nil
}

// pruneFiles releases what task p holds on disk (in a dry run, only finds
// it) and says what that was.
func (c *Client) pruneFiles(ctx context.Context, p store.Prunable, held map[string]map[string]string, dryRun bool) (PrunedTask, error) {
	pt := PrunedTask{ID: p.ID, State: p.State, CompletedAt: p.CompletedAt, Workspace: p.Workspace,
		AgentState: p.AgentState, JobID: p.JobID}
	snap := p.Snapshot
	if snap.ID != "" {
		h, ok := held[snap.Workspace]
		if !ok {
			var err error
			if h, err = workspace.Held(ctx, snap.Workspace); err != nil {
				return pt, fmt.Errorf("listing the snapshots of %s: %w", snap.Workspace, err)
			}
			held[snap.Workspace] = h
		}
		pt.Snapshot = h[snap.ID]
	}
	dir, err := workspace.TaskDir(p.Workspace, p.ID)
	if err != nil {
		return pt, err
	}
	if _, err := os.Stat(dir); err == nil {
		pt.Logs = dir
	} else if !errors.Is(err, fs.ErrNotExist) {
		return pt, err
	}
	if dryRun {
		return pt, nil
	}
	if pt.Snapshot != "" {
		if err := snap.Release(ctx); err != nil {
			return pt, fmt.Errorf("releasing its snapshot: %w", err)
		}
	}
	if pt.Logs != "" {
		if err := os.RemoveAll(dir); err != nil {
			return pt, fmt.Errorf("removing its task directory: %w", err)
		}
	}
	return pt, nil
}
