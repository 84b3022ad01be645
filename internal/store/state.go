package store

import (
	"context"
	"database/sql"
	"errors"
)

// TaskState is the durable key/value store of one task (agent.StateStore),
// as one attempt sees it: it reads what any attempt stored, and writes only
// while its attempt owns the task.
type TaskState struct {
	DB      *sql.DB
	TaskID  string
	Attempt int
}

// Get returns the value stored under key.
func (s TaskState) Get(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.DB.QueryRowContext(ctx, `SELECT value FROM handoff_task_state WHERE task_id = $1 AND key = $2`,
		s.TaskID, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

// Put stores value under key, replacing what was there. It returns
// ErrLeaseLost, storing nothing, when the attempt no longer owns the task.
func (s TaskState) Put(ctx context.Context, key, value string) error {
	r, err := s.DB.ExecContext(ctx, `INSERT INTO handoff_task_state (task_id, key, value)
		SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT) WHERE EXISTS (SELECT 1 FROM handoff_task WHERE `+owns(1, 4)+`)
		ON CONFLICT (task_id, key) DO UPDATE SET value = excluded.value`, s.TaskID, key, value, s.Attempt)
	return leaseResult(r, err)
}
