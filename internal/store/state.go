package store

import (
	"context"
	"database/sql"
	"errors"
)

// TaskState is the durable key/value store of one task (agent.StateStore).
type TaskState struct {
	DB     *sql.DB
	TaskID string
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

// Put stores value under key, replacing what was there.
func (s TaskState) Put(ctx context.Context, key, value string) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO handoff_task_state (task_id, key, value) VALUES ($1, $2, $3)
		ON CONFLICT (task_id, key) DO UPDATE SET value = excluded.value`, s.TaskID, key, value)
	return err
}
