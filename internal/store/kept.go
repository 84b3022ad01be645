package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/snapstore"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// KeptFiles returns the kept test files that wait, beside a task's result,
// to be applied where its workspace is; nil when none wait.
func (s *Store) KeptFiles(ctx context.Context, id string) (map[string][]byte, error) {
	var z []byte
	err := s.DB.QueryRowContext(ctx, `SELECT kept_files FROM handoff_task WHERE id = $1`, id).Scan(&z)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil || len(z) == 0 {
		return nil, err
	}
	var files map[string][]byte
	if err := snapstore.Unpack(z, &files); err != nil {
		return nil, fmt.Errorf("the waiting kept tests of task %s cannot be read: %w", id, err)
	}
	return files, nil
}

// ClaimApply reserves applying a final task's waiting kept tests for one
// caller (by says who): it reports true to the first and false to every
// later one, so two waiters never both write the files.
func (s *Store) ClaimApply(ctx context.Context, id, by string) (bool, error) {
	r, err := s.DB.ExecContext(ctx, `INSERT INTO handoff_task_state (task_id, key, value) VALUES ($1, $2, $3)
		ON CONFLICT (task_id, key) DO NOTHING`, id, applyClaimKey, by)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

// ReleaseApply gives up a claim whose apply failed, so another try may
// claim it.
func (s *Store) ReleaseApply(ctx context.Context, id string) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM handoff_task_state WHERE task_id = $1 AND key = $2`, id, applyClaimKey)
	return err
}

// applyClaimKey is the task-state key of ClaimApply.
const applyClaimKey = "handoff.applied_by"

// Applied records the result of a task whose waiting kept tests were
// applied where its workspace is, and drops the files.
func (s *Store) Applied(ctx context.Context, id string, res *handofftype.Result) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = s.DB.ExecContext(ctx, `UPDATE handoff_task SET result = $1, kept_files = NULL WHERE id = $2`, string(b), id)
	return err
}

// SnapshotTrees lists the database snapshot trees that tasks name: what
// snapshot pruning must keep.
func (s *Store) SnapshotTrees(ctx context.Context) ([]string, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT DISTINCT snapshot FROM handoff_task`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen := map[string]bool{}
	var trees []string
	for rows.Next() {
		var snap workspace.Snapshot
		if err := rows.Scan(&snap); err != nil {
			return nil, err
		}
		if snap.Tree != "" && !seen[snap.Tree] {
			seen[snap.Tree] = true
			trees = append(trees, snap.Tree)
		}
	}
	return trees, rows.Err()
}
