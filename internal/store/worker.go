package store

import (
	"context"
	"time"
)

// RegisterWorker records a live worker process.
func (s *Store) RegisterWorker(ctx context.Context, id string, pid int, host string, now time.Time) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO handoff_worker (id, pid, host, started_at, heartbeat_at)
		VALUES ($1, $2, $3, $4, $4) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
		id, pid, host, now.UnixMilli())
	return err
}

// WorkerHeartbeat refreshes a worker's heartbeat.
func (s *Store) WorkerHeartbeat(ctx context.Context, id string, now time.Time) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE handoff_worker SET heartbeat_at = $1 WHERE id = $2`, now.UnixMilli(), id)
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
