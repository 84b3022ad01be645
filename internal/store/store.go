package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/snapstore"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// ErrNotFound is returned when no task has the given ID.
var ErrNotFound = errors.New("no such task")

// ErrDuplicateKey is returned by Insert when the idempotency key is taken.
var ErrDuplicateKey = errors.New("idempotency key already used")

// Store reads and writes handoff's tables.
type Store struct {
	DB *sql.DB
	// Postgres selects PostgreSQL's SQL where the two dialects differ
	// (List's label filter) and publishes events (see Publish); false
	// means SQLite.
	Postgres bool
}

// Record is one task as stored.
type Record struct {
	ID              string
	JobID           int64
	IdempotencyKey  string
	RequestHash     string
	Request         handofftype.Request
	Snapshot        workspace.Snapshot
	Language        string
	State           handofftype.State
	JobState        string // River's job state, filled by the engine (engine.Get, engine.List); "" when the job row is gone
	Attempt         int
	MaxAttempts     int
	LastError       string
	Progress        string
	Success         *bool
	Result          *handofftype.Result
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
		r.ID, r.JobID, key, r.RequestHash, string(req), r.Snapshot, r.Request.Workspace, r.Request.Module,
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

// recordColumns are the columns scanRecord reads from handoff_task, each
// name after prefix (SQLite's RETURNING takes no table name).
func recordColumns(prefix string) string {
	return strings.ReplaceAll(`@id, @job_id, COALESCE(@idempotency_key, ''), @request_hash, @request, @snapshot, @language,
	@state, @attempt, @max_attempts, @last_error, @progress, @success, @result, @cancel_requested, @heartbeat_at,
	@created_at, @started_at, @completed_at`, "@", prefix)
}

var selectRecord = `SELECT ` + recordColumns("t.") + ` FROM handoff_task t`

func scanRecord(row interface{ Scan(...any) error }) (*Record, error) {
	var (
		r                                     Record
		jobID                                 sql.NullInt64
		req, state                            string
		success                               sql.NullInt64
		result                                sql.NullString
		cancel                                int
		heartbeat, created, started, finished sql.NullInt64
	)
	if err := row.Scan(&r.ID, &jobID, &r.IdempotencyKey, &r.RequestHash, &req, &r.Snapshot, &r.Language, &state,
		&r.Attempt, &r.MaxAttempts, &r.LastError, &r.Progress, &success, &result, &cancel,
		&heartbeat, &created, &started, &finished); err != nil {
		return nil, err
	}
	r.JobID = jobID.Int64
	r.State = handofftype.State(state)
	if err := json.Unmarshal([]byte(req), &r.Request); err != nil {
		return nil, fmt.Errorf("task %s: reading its request: %w", r.ID, err)
	}
	if success.Valid {
		b := success.Int64 != 0
		r.Success = &b
	}
	if result.Valid && result.String != "" {
		r.Result = new(handofftype.Result)
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
	States []handofftype.State
	Label  [2]string // key, value; empty key means any
	Agent  string    // empty means any
	Module string    // a part of the module path; empty means any
	// Before is a task's ID: only tasks listed after it (older) are
	// returned, for the next page. Empty means from the newest.
	Before string
	// ChangedSince, when set, selects live tasks and those created or
	// finished since then, whatever the other fields say.
	ChangedSince time.Time
	Limit        int // zero means 100
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
	if f.Label[0] != "" {
		// In SQL, before the LIMIT: filtering the page afterwards would
		// miss matching tasks beyond it.
		each := "json_each(t.labels)"
		if s.Postgres {
			// A task without labels stores "null", which PostgreSQL
			// cannot expand; NULL expands to no rows.
			each = "json_each_text(CAST(NULLIF(t.labels, 'null') AS json))"
		}
		args = append(args, f.Label[0], f.Label[1])
		where = append(where, fmt.Sprintf("EXISTS (SELECT 1 FROM %s AS l WHERE l.key = $%d AND l.value = $%d)",
			each, len(args)-1, len(args)))
	}
	if f.Agent != "" {
		args = append(args, f.Agent)
		where = append(where, fmt.Sprintf("t.agent = $%d", len(args)))
	}
	if f.Module != "" {
		args = append(args, f.Module)
		where = append(where, fmt.Sprintf("STRPOS(t.module, $%d) > 0", len(args)))
		if !s.Postgres {
			where[len(where)-1] = fmt.Sprintf("INSTR(t.module, $%d) > 0", len(args))
		}
	}
	if f.Before != "" {
		args = append(args, f.Before)
		n := len(args)
		where = append(where, fmt.Sprintf(`(t.created_at < (SELECT created_at FROM handoff_task WHERE id = $%d)
			OR (t.created_at = (SELECT created_at FROM handoff_task WHERE id = $%d) AND t.id < $%d))`, n, n, n))
	}
	if !f.ChangedSince.IsZero() {
		args = append(args[:0], f.ChangedSince.UnixMilli())
		where = []string{"(t.state IN ('QUEUED', 'RUNNING') OR t.created_at >= $1 OR t.completed_at >= $1)"}
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
	return s.query(ctx, q, args...)
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

// ErrLeaseLost is returned by a write of an attempt that no longer owns its
// task: another worker rescued it, or the task ended meanwhile.
var ErrLeaseLost = errors.New("the attempt no longer owns its task")

// ErrCancelRequested is the cause given to a running attempt's context when
// a user cancels its task.
var ErrCancelRequested = errors.New("cancelled by request")

// Lease names one attempt of a task. Only the attempt that owns the task
// (its attempt number recorded, the task RUNNING) may write to it: every
// write of an attempt checks this in the same statement, so an attempt that
// lost its task to a rescue writes nothing.
type Lease struct {
	TaskID  string
	Attempt int
}

// owns is the condition a write of the lease's attempt is made under; its
// two parameters are the task ID and the attempt.
func owns(idParam, attemptParam int) string {
	return fmt.Sprintf("id = $%d AND attempt = $%d AND state = 'RUNNING'", idParam, attemptParam)
}

// MarkRunning records that the lease's attempt has started and makes it the
// task's owner, and returns the task as it then stands (CancelRequested
// says whether a cancel was requested by then): one statement where a read
// and a write would take two. It returns a nil record when the task is
// missing, already final (cancelled while queued) or owned by a later
// attempt.
func (s *Store) MarkRunning(ctx context.Context, l Lease, now time.Time) (*Record, error) {
	r, err := scanRecord(s.DB.QueryRowContext(ctx, `UPDATE handoff_task
		SET state = $1, attempt = $2, heartbeat_at = $3, started_at = COALESCE(started_at, $3), progress = ''
		WHERE id = $4 AND state IN ('QUEUED', 'RUNNING') AND attempt <= $2
		RETURNING `+recordColumns(""),
		string(handofftype.StateRunning), l.Attempt, now.UnixMilli(), l.TaskID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return r, err
}

// Heartbeat refreshes the heartbeat of the attempt that owns the task and
// reports whether a cancel was requested. It returns ErrLeaseLost when the
// attempt no longer owns the task.
func (s *Store) Heartbeat(ctx context.Context, l Lease, now time.Time) (cancel bool, err error) {
	var c int
	err = s.DB.QueryRowContext(ctx, `UPDATE handoff_task SET heartbeat_at = $1 WHERE `+owns(2, 3)+`
		RETURNING cancel_requested`, now.UnixMilli(), l.TaskID, l.Attempt).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return false, ErrLeaseLost
	}
	return c != 0, err
}

// SetProgress records a live progress line of the attempt that owns the task.
func (s *Store) SetProgress(ctx context.Context, l Lease, text string) error {
	r, err := s.DB.ExecContext(ctx, `UPDATE handoff_task SET progress = $1 WHERE `+owns(2, 3), text, l.TaskID, l.Attempt)
	return leaseResult(r, err)
}

// leaseResult turns a write that touched no row into ErrLeaseLost.
func leaseResult(r sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := r.RowsAffected()
	if err == nil && n == 0 {
		return ErrLeaseLost
	}
	return err
}

// MarkRetrying returns the task to QUEUED when the attempt that owns it ends
// without a verdict (a transient failure, a worker shutdown). It returns
// ErrLeaseLost when the attempt no longer owns the task.
func (s *Store) MarkRetrying(ctx context.Context, l Lease, lastError string) error {
	r, err := s.DB.ExecContext(ctx, `UPDATE handoff_task SET state = $1, last_error = $2, heartbeat_at = NULL
		WHERE `+owns(3, 4), string(handofftype.StateQueued), lastError, l.TaskID, l.Attempt)
	return leaseResult(r, err)
}

// Requeue takes a task away from an attempt whose worker fell silent before
// the given time and returns it to QUEUED; in q, the rescue's transaction.
// It reports false when the attempt meanwhile beat again, ended or lost the
// task to another rescue.
func (s *Store) Requeue(ctx context.Context, q Querier, l Lease, silentBefore time.Time, lastError string) (bool, error) {
	r, err := q.ExecContext(ctx, `UPDATE handoff_task SET state = $1, last_error = $2, heartbeat_at = NULL
		WHERE `+owns(3, 4)+` AND heartbeat_at < $5`,
		string(handofftype.StateQueued), lastError, l.TaskID, l.Attempt, silentBefore.UnixMilli())
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

// SetJob points the task at a new River job (a rescued task's next attempt).
func (s *Store) SetJob(ctx context.Context, q Querier, id string, jobID int64) error {
	_, err := q.ExecContext(ctx, `UPDATE handoff_task SET job_id = $1 WHERE id = $2`, jobID, id)
	return err
}

// Finish records a final state and result of a task nobody is running (one
// cancelled in the queue). It does nothing to a task that is already final,
// and reports whether it wrote.
func (s *Store) Finish(ctx context.Context, id string, state handofftype.State, res *handofftype.Result, now time.Time) (bool, error) {
	return s.finish(ctx, s.DB, state, res, now, `id = $6 AND state NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')`, id)
}

// FinishAttempt records the final state and result that the lease's attempt
// reached. It writes only while the attempt owns the task, and reports
// whether it did.
func (s *Store) FinishAttempt(ctx context.Context, l Lease, state handofftype.State, res *handofftype.Result, now time.Time) (bool, error) {
	return s.finish(ctx, s.DB, state, res, now, owns(6, 7), l.TaskID, l.Attempt)
}

// FinishSilent records a final state for an attempt whose worker fell
// silent before the given time (lost on its last attempt, or cancelled with
// nobody to stop it); in q. It reports false when the attempt meanwhile beat
// again, ended or lost the task.
func (s *Store) FinishSilent(ctx context.Context, q Querier, l Lease, silentBefore time.Time, state handofftype.State,
	res *handofftype.Result, now time.Time) (bool, error) {
	return s.finish(ctx, q, state, res, now, owns(6, 7)+` AND heartbeat_at < $8`, l.TaskID, l.Attempt, silentBefore.UnixMilli())
}

// finish writes a final state where the condition holds; the condition's
// parameters start at $6.
func (s *Store) finish(ctx context.Context, q Querier, state handofftype.State, res *handofftype.Result, now time.Time,
	where string, whereArgs ...any) (bool, error) {
	var (
		body    any
		success any
		lastErr string
		kept    any
	)
	if res != nil {
		b, err := json.Marshal(res)
		if err != nil {
			return false, err
		}
		body = string(b)
		if state == handofftype.StateCompleted {
			success = boolInt(res.Success)
		}
		lastErr = res.Error
		if len(res.KeptFiles) > 0 {
			if kept, err = snapstore.Pack(res.KeptFiles); err != nil {
				return false, err
			}
		}
	}
	args := append([]any{string(state), body, success, now.UnixMilli(), lastErr}, whereArgs...)
	args = append(args, kept)
	r, err := q.ExecContext(ctx, `UPDATE handoff_task
		SET state = $1, result = $2, success = $3, completed_at = $4, heartbeat_at = NULL,
		    last_error = CASE WHEN $5 = '' THEN last_error ELSE $5 END, kept_files = $`+strconv.Itoa(len(args))+`
		WHERE `+where, args...)
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

// cancelledByKey is the task-state key under which RequestCancel records
// who asked; agents' own keys never start with "handoff.".
const cancelledByKey = "handoff.cancelled_by"

// RequestCancel flags a live task for cancellation and records who asked
// (by); a worker running it notices at its next heartbeat, or at once when
// told (EventCancel).
func (s *Store) RequestCancel(ctx context.Context, id, by string) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	r, err := tx.ExecContext(ctx, `UPDATE handoff_task SET cancel_requested = 1
		WHERE id = $1 AND state NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')`, id)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return nil // already final: nothing to cancel
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO handoff_task_state (task_id, key, value) VALUES ($1, $2, $3)
		ON CONFLICT (task_id, key) DO NOTHING`, id, cancelledByKey, by); err != nil {
		return err
	}
	return tx.Commit()
}

// CancelRequest tells whether a cancel of the task was requested, and by whom.
func (s *Store) CancelRequest(ctx context.Context, id string) (requested bool, by string, err error) {
	var c int
	var who sql.NullString
	err = s.DB.QueryRowContext(ctx, `SELECT t.cancel_requested, s.value FROM handoff_task t
		LEFT JOIN handoff_task_state s ON s.task_id = t.id AND s.key = $2 WHERE t.id = $1`, id, cancelledByKey).Scan(&c, &who)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", ErrNotFound
	}
	return c != 0, who.String, err
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

// CountByState counts the tasks in each state.
func (s *Store) CountByState(ctx context.Context) (map[handofftype.State]int, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT state, COUNT(*) FROM handoff_task GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[handofftype.State]int{}
	for rows.Next() {
		var (
			state string
			n     int
		)
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		out[handofftype.State(state)] = n
	}
	return out, rows.Err()
}

// Results returns the stored results of the tasks with these IDs (those
// that have one), by ID: what a list of tasks shows beside each status.
func (s *Store) Results(ctx context.Context, ids []string) (map[string]*handofftype.Result, error) {
	out := make(map[string]*handofftype.Result, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i], args[i] = fmt.Sprintf("$%d", i+1), id
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, result FROM handoff_task WHERE result IS NOT NULL AND id IN (`+strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, raw string
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, err
		}
		if raw == "" {
			continue
		}
		res := new(handofftype.Result)
		if err := json.Unmarshal([]byte(raw), res); err != nil {
			return nil, fmt.Errorf("task %s: reading its result: %w", id, err)
		}
		out[id] = res
	}
	return out, rows.Err()
}
