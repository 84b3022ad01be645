package store

import (
	"context"
	"time"
)

// RegisterWorker records a live worker process and what it can serve
// (capabilities, JSON).
func (s *Store) RegisterWorker(ctx context.Context, id string, pid int, host, capabilities string, now time.Time) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO handoff_worker (id, pid, host, started_at, heartbeat_at, capabilities)
		VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, capabilities = excluded.capabilities`,
		id, pid, host, now.UnixMilli(), capabilities)
	return err
}

// Worker is a worker's record.
type Worker struct {
	ID           string
	PID          int
	Host         string
	StartedAt    time.Time
	HeartbeatAt  time.Time
	Capabilities string // JSON, as the worker recorded it
	Running      int    // tasks it ran at its last heartbeat
}

// Workers lists the workers whose heartbeat is newer than since, oldest
// first.
func (s *Store) Workers(ctx context.Context, since time.Time) ([]Worker, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, pid, host, started_at, heartbeat_at, capabilities, running
		FROM handoff_worker WHERE heartbeat_at >= $1 ORDER BY started_at, id`, since.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ws []Worker
	for rows.Next() {
		var w Worker
		var started, beat int64
		if err := rows.Scan(&w.ID, &w.PID, &w.Host, &started, &beat, &w.Capabilities, &w.Running); err != nil {
			return nil, err
		}
		w.StartedAt, w.HeartbeatAt = time.UnixMilli(started), time.UnixMilli(beat)
		ws = append(ws, w)
	}
	return ws, rows.Err()
}

// WorkerHeartbeat refreshes a worker's heartbeat and the number of tasks
// it runs.
func (s *Store) WorkerHeartbeat(ctx context.Context, id string, running int, now time.Time) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE handoff_worker SET heartbeat_at = $1, running = $2 WHERE id = $3`, now.UnixMilli(), running, id)
	return err
}

// RemoveWorker deletes a worker's record at shutdown, and those of workers
// silent since before (they died without saying so).
func (s *Store) RemoveWorker(ctx context.Context, id string, before time.Time) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM handoff_worker WHERE id = $1 OR heartbeat_at < $2`, id, before.UnixMilli())
	return err
}

// LiveWorkers counts workers whose heartbeat is newer than since.
func (s *Store) LiveWorkers(ctx context.Context, since time.Time) (int, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM handoff_worker WHERE heartbeat_at >= $1`, since.UnixMilli()).Scan(&n)
	return n, err
}
