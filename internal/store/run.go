package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"
)

// ErrRunNotFound is returned by Run for an ID no recorded run has.
var ErrRunNotFound = errors.New("no such pipeline run")

// Run is a finished pipeline run as recorded for the dashboard.
type Run struct {
	ID       string
	Pipeline string
	Started  time.Time
	Wall     time.Duration
	OK       bool
	// Report is the run's JSON report (pipeline.Report); Timeline its SVG.
	// Runs leaves both out.
	Report   []byte
	Timeline []byte
	// Logs holds, per stage name, the end of the stage's log.
	Logs map[string]string
}

// PutRun records a finished run; recording the same ID again replaces it.
func (s *Store) PutRun(ctx context.Context, r Run) error {
	logs, err := json.Marshal(r.Logs)
	if err != nil {
		return err
	}
	if r.Logs == nil {
		logs = []byte("{}")
	}
	ok := 0
	if r.OK {
		ok = 1
	}
	_, err = s.DB.ExecContext(ctx, `INSERT INTO handoff_run (id, pipeline, started_at, wall_ms, ok, report, timeline, logs)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET pipeline = excluded.pipeline, started_at = excluded.started_at,
			wall_ms = excluded.wall_ms, ok = excluded.ok, report = excluded.report, timeline = excluded.timeline,
			logs = excluded.logs`,
		r.ID, r.Pipeline, r.Started.UnixMilli(), r.Wall.Milliseconds(), ok, string(r.Report), string(r.Timeline), string(logs))
	return err
}

// Runs lists recorded runs, newest first, without their report, timeline
// and logs: at most limit (zero means 50), those started before the run
// with ID before when it is set.
func (s *Store) Runs(ctx context.Context, limit int, before string) ([]Run, error) {
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT id, pipeline, started_at, wall_ms, ok FROM handoff_run`
	args := []any{limit}
	if before != "" {
		q += ` WHERE (started_at, id) < (SELECT started_at, id FROM handoff_run WHERE id = $2)`
		args = append(args, before)
	}
	rows, err := s.DB.QueryContext(ctx, q+` ORDER BY started_at DESC, id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Run{}
	for rows.Next() {
		var (
			r           Run
			started, ms int64
			ok          int
		)
		if err := rows.Scan(&r.ID, &r.Pipeline, &started, &ms, &ok); err != nil {
			return nil, err
		}
		r.Started, r.Wall, r.OK = time.UnixMilli(started), time.Duration(ms)*time.Millisecond, ok != 0
		out = append(out, r)
	}
	return out, rows.Err()
}

// Run returns one recorded run, whole, or ErrRunNotFound.
func (s *Store) Run(ctx context.Context, id string) (*Run, error) {
	var (
		r                      Run
		started, ms            int64
		ok                     int
		report, timeline, logs string
	)
	err := s.DB.QueryRowContext(ctx, `SELECT id, pipeline, started_at, wall_ms, ok, report, timeline, logs FROM handoff_run WHERE id = $1`, id).
		Scan(&r.ID, &r.Pipeline, &started, &ms, &ok, &report, &timeline, &logs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrRunNotFound
	}
	if err != nil {
		return nil, err
	}
	r.Started, r.Wall, r.OK = time.UnixMilli(started), time.Duration(ms)*time.Millisecond, ok != 0
	r.Report, r.Timeline = []byte(report), []byte(timeline)
	if err := json.Unmarshal([]byte(logs), &r.Logs); err != nil {
		return nil, err
	}
	return &r, nil
}
