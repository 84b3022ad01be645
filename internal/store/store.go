package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/internal/task"
)

// ErrNotFound is returned when no task has the given ID.
var ErrNotFound = errors.New("no such task")

// ErrDuplicateKey is returned by Insert when the idempotency key is taken.
var ErrDuplicateKey = errors.New("idempotency key already used")

// Store reads and writes handoff's tables.
type Store struct {
	DB *sql.DB
}

// Record is one task as stored.
type Record struct {
	ID              string
	JobID           int64
	IdempotencyKey  string
	RequestHash     string
	Request         task.Request
	Snapshot        json.RawMessage
	Language        string
	State           task.State
	JobState        string // River's job state, "" when the job row is gone
	Attempt         int
	MaxAttempts     int
	LastError       string
	Progress        string
	Success         *bool
	Result          *task.Result
	CancelRequested bool
	HeartbeatAt     time.Time
	CreatedAt       time.Time
	StartedAt       time.Time
	CompletedAt     time.Time
}

// Querier is what both *sql.DB and *sql.Tx offer.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64)
}

// Insert adds a new task in q (the Submit transaction).
func (s *Store) Insert(ctx context.Context, q Querier, r *Record) error {
	req, err := json.Marshal(r.Request)
	if err != nil {
		return err
	}
	labels, err := json.Marshal(r.Request.Labels)
	if err != nil {
		return err
	}
	var key any
	if r.IdempotencyKey != "" {
		key = r.IdempotencyKey
	}
	_, err = q.ExecContext(ctx, `INSERT INTO handoff_task
		(id, job_id, idempotency_key, request_hash, request, snapshot, workspace, module, output, language, agent,
		 state, max_attempts, labels, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		r.ID, r.JobID, key, r.RequestHash, string(req), string(r.Snapshot), r.Request.Workspace, r.Request.Module,
		r.Request.Output, r.Language, r.Request.Agent, string(r.State), r.MaxAttempts, string(labels), ms(r.CreatedAt))
	if err != nil && isUniqueViolation(err) {
		return ErrDuplicateKey
	}
	return err
}

func isUniqueViolation(err error) bool {
	m := err.Error()
	return strings.Contains(m, "UNIQUE constraint failed") || strings.Contains(m, "SQLSTATE 23505") ||
		strings.Contains(m, "duplicate key value")
}

const selectRecord = `SELECT t.id, t.job_id, COALESCE(t.idempotency_key, ''), t.request_hash, t.request, t.snapshot,
	t.language, t.state, COALESCE(CAST(j.state AS TEXT), ''), t.attempt, t.max_attempts, t.last_error, t.progress, t.success,
	t.result, t.cancel_requested, t.heartbeat_at, t.created_at, t.started_at, t.completed_at
	FROM handoff_task t LEFT JOIN river_job j ON j.id = t.job_id`

func scanRecord(row interface{ Scan(...any) error }) (*Record, error) {
	var (
		r                                     Record
		jobID                                 sql.NullInt64
		req, snap, state                      string
		success                               sql.NullInt64
		result                                sql.NullString
		cancel                                int
		heartbeat, created, started, finished sql.NullInt64
	)
	if err := row.Scan(&r.ID, &jobID, &r.IdempotencyKey, &r.RequestHash, &req, &snap, &r.Language, &state,
		&r.JobState, &r.Attempt, &r.MaxAttempts, &r.LastError, &r.Progress, &success, &result, &cancel,
		&heartbeat, &created, &started, &finished); err != nil {
		return nil, err
	}
	r.JobID = jobID.Int64
	r.State = task.State(state)
	r.Snapshot = json.RawMessage(snap)
	if err := json.Unmarshal([]byte(req), &r.Request); err != nil {
		return nil, fmt.Errorf("task %s: reading its request: %w", r.ID, err)
	}
	if success.Valid {
		b := success.Int64 != 0
		r.Success = &b
	}
	if result.Valid && result.String != "" {
		r.Result = new(task.Result)
		if err := json.Unmarshal([]byte(result.String), r.Result); err != nil {
			return nil, fmt.Errorf("task %s: reading its result: %w", r.ID, err)
		}
	}
	r.CancelRequested = cancel != 0
	r.HeartbeatAt, r.CreatedAt, r.StartedAt, r.CompletedAt = fromMS(heartbeat), fromMS(created), fromMS(started), fromMS(finished)
	return &r, nil
}

// Get returns one task.
func (s *Store) Get(ctx context.Context, id string) (*Record, error) {
	r, err := scanRecord(s.DB.QueryRowContext(ctx, selectRecord+` WHERE t.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return r, err
}

// ByIdempotencyKey returns the task submitted with key, or ErrNotFound.
func (s *Store) ByIdempotencyKey(ctx context.Context, key string) (*Record, error) {
	r, err := scanRecord(s.DB.QueryRowContext(ctx, selectRecord+` WHERE t.idempotency_key = $1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return r, err
}

// Filter selects tasks for List.
type Filter struct {
	States []task.State
	Label  [2]string // key, value; empty key means any
	Limit  int       // zero means 100
}

// List returns tasks, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]*Record, error) {
	var (
		where []string
		args  []any
	)
	if len(f.States) > 0 {
		ph := make([]string, len(f.States))
		for i, st := range f.States {
			args = append(args, string(st))
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		where = append(where, "t.state IN ("+strings.Join(ph, ", ")+")")
	}
	q := selectRecord
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	q += fmt.Sprintf(" ORDER BY t.created_at DESC, t.id DESC LIMIT $%d", len(args))
	all, err := s.query(ctx, q, args...)
	if err != nil || f.Label[0] == "" {
		return all, err
	}
	var out []*Record
	for _, r := range all {
		if r.Request.Labels[f.Label[0]] == f.Label[1] {
			out = append(out, r)
		}
	}
	return out, nil
}

// query runs a select of records.
func (s *Store) query(ctx context.Context, q string, args ...any) ([]*Record, error) {
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// MarkRunning records that attempt has started. It returns false when the
// task is already final (cancelled while queued).
func (s *Store) MarkRunning(ctx context.Context, id string, attempt int, now time.Time) (bool, error) {
	res, err := s.DB.ExecContext(ctx, `UPDATE handoff_task
		SET state = $1, attempt = $2, heartbeat_at = $3, started_at = COALESCE(started_at, $3), progress = ''
		WHERE id = $4 AND state IN ('QUEUED', 'RUNNING')`,
		string(task.StateRunning), attempt, now.UnixMilli(), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Heartbeat refreshes a running task's heartbeat and reports whether a cancel
// was requested.
func (s *Store) Heartbeat(ctx context.Context, id string, now time.Time) (cancel bool, err error) {
	var c int
	err = s.DB.QueryRowContext(ctx, `UPDATE handoff_task SET heartbeat_at = $1 WHERE id = $2
		RETURNING cancel_requested`, now.UnixMilli(), id).Scan(&c)
	return c != 0, err
}

// SetProgress records a live progress line.
func (s *Store) SetProgress(ctx context.Context, id, text string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE handoff_task SET progress = $1 WHERE id = $2`, text, id)
	return err
}

// MarkRetrying returns a task to QUEUED after a transient failure.
func (s *Store) MarkRetrying(ctx context.Context, id, lastError string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE handoff_task SET state = $1, last_error = $2, heartbeat_at = NULL
		WHERE id = $3 AND state NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')`,
		string(task.StateQueued), lastError, id)
	return err
}

// Finish records a final state and result. It does nothing to a task that
// is already final, and reports whether it wrote.
func (s *Store) Finish(ctx context.Context, id string, state task.State, res *task.Result, now time.Time) (bool, error) {
	var (
		body    any
		success any
		lastErr string
	)
	if res != nil {
		b, err := json.Marshal(res)
		if err != nil {
			return false, err
		}
		body = string(b)
		if state == task.StateCompleted {
			success = boolInt(res.Success)
		}
		lastErr = res.Error
	}
	r, err := s.DB.ExecContext(ctx, `UPDATE handoff_task
		SET state = $1, result = $2, success = $3, completed_at = $4, heartbeat_at = NULL,
		    last_error = CASE WHEN $5 = '' THEN last_error ELSE $5 END
		WHERE id = $6 AND state NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')`,
		string(state), body, success, now.UnixMilli(), lastErr, id)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// RequestCancel flags a task for cancellation; a worker running it notices
// at its next heartbeat.
func (s *Store) RequestCancel(ctx context.Context, id string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE handoff_task SET cancel_requested = 1 WHERE id = $1`, id)
	return err
}

// Stale returns RUNNING tasks whose heartbeat is older than before: their
// worker died.
func (s *Store) Stale(ctx context.Context, before time.Time) ([]*Record, error) {
	return s.query(ctx, selectRecord+` WHERE t.state = 'RUNNING' AND t.heartbeat_at < $1`, before.UnixMilli())
}

// CountLive counts tasks not yet final.
func (s *Store) CountLive(ctx context.Context) (int, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM handoff_task WHERE state IN ('QUEUED', 'RUNNING')`).Scan(&n)
	return n, err
}
