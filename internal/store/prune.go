package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// PruneFilter chooses final tasks to remove. Live tasks are never chosen.
type PruneFilter struct {
	// Before selects tasks that became final before it; zero means any age.
	Before time.Time
	// KeepLast keeps the KeepLast most recently finished tasks whatever
	// their age; zero keeps none for being recent.
	KeepLast int
}

// Prunable is what removing a final task needs to know.
type Prunable struct {
	ID          string
	JobID       int64 // the task's River job; engine.Prunable sets 0 when River no longer holds it
	State       handofftype.State
	Workspace   string
	Snapshot    workspace.Snapshot
	CompletedAt time.Time
	AgentState  int // rows of handoff_task_state
}

// finalStates is the SQL list of final task states.
const finalStates = `('COMPLETED', 'FAILED', 'CANCELLED')`

// Prunable returns the final tasks f chooses, oldest first. Their River
// jobs are the engine's to read (engine.Prunable).
func (s *Store) Prunable(ctx context.Context, f PruneFilter) ([]Prunable, error) {
	if f.KeepLast < 0 {
		return nil, fmt.Errorf("keep-last %d is negative", f.KeepLast)
	}
	where := []string{`t.state IN ` + finalStates}
	var args []any
	if !f.Before.IsZero() {
		args = append(args, f.Before.UnixMilli())
		where = append(where, fmt.Sprintf(`COALESCE(t.completed_at, t.created_at) < $%d`, len(args)))
	}
	if f.KeepLast > 0 {
		args = append(args, f.KeepLast)
		where = append(where, fmt.Sprintf(`t.id NOT IN (SELECT id FROM handoff_task WHERE state IN %s
			ORDER BY COALESCE(completed_at, created_at) DESC, id DESC LIMIT $%d)`, finalStates, len(args)))
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT t.id, COALESCE(t.job_id, 0), t.state, t.workspace, t.snapshot,
		COALESCE(t.completed_at, t.created_at), (SELECT COUNT(*) FROM handoff_task_state s WHERE s.task_id = t.id)
		FROM handoff_task t
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY COALESCE(t.completed_at, t.created_at), t.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Prunable
	for rows.Next() {
		var (
			p         Prunable
			state     string
			completed sql.NullInt64
		)
		if err := rows.Scan(&p.ID, &p.JobID, &state, &p.Workspace, &p.Snapshot, &completed, &p.AgentState); err != nil {
			return nil, err
		}
		p.State, p.CompletedAt = handofftype.State(state), fromMS(completed)
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeleteTasks removes the tasks ids and their agent state in q (a
// transaction, with their River jobs) and returns the IDs it removed. A task
// that is not final is left as it is.
func DeleteTasks(ctx context.Context, q Querier, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	ph := make([]string, len(ids))
	for i, id := range ids {
		args[i] = id
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	in := "(" + strings.Join(ph, ", ") + ")"
	if _, err := q.ExecContext(ctx, `DELETE FROM handoff_task_state WHERE task_id IN
		(SELECT id FROM handoff_task WHERE id IN `+in+` AND state IN `+finalStates+`)`, args...); err != nil {
		return nil, fmt.Errorf("deleting agent state: %w", err)
	}
	rows, err := q.QueryContext(ctx, `DELETE FROM handoff_task WHERE id IN `+in+` AND state IN `+finalStates+`
		RETURNING id`, args...)
	if err != nil {
		return nil, fmt.Errorf("deleting tasks: %w", err)
	}
	defer rows.Close()
	var gone []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		gone = append(gone, id)
	}
	return gone, rows.Err()
}
