package store

import (
	"context"
	"strings"
)

// Events: on PostgreSQL, handoff tells other processes of the changes they
// wait for with a notification on its event channel, whose payload is
// "kind:task ID" (see Event). SQLite has no notifications: other processes
// poll.
const (
	EventFinal    = "final"    // the task reached a final state (completed, failed, cancelled)
	EventCancel   = "cancel"   // a cancel of the live task was requested
	EventProgress = "progress" // the running attempt reported progress
)

// EventChannelSQL is the SQL expression naming handoff's event channel: the
// current schema, a dot, and handoff_event, as River names its own channels,
// so that handoff databases in several schemas of one PostgreSQL database
// never hear each other. A listener reads it on its own connection, whose
// search path is the writers'.
const EventChannelSQL = `COALESCE(current_schema() || '.', '') || 'handoff_event'`

// Publish notifies listeners of events, each "kind:task ID", in one
// statement. Call it once the changes they tell of are committed, never
// inside their transaction: a listener then never hears of a row it cannot
// read yet, and the writes commit as any other. (A NOTIFY in the writing
// transaction holds PostgreSQL's global notification lock across that
// transaction's commit and WAL flush, so every notifying transaction of
// the server commits one at a time; see docs/benchmarks.md.) A notification
// lost with a process that dies between the two is made up for by the
// listeners' polls. On SQLite it does nothing.
func (s *Store) Publish(ctx context.Context, events []string) error {
	if !s.Postgres || len(events) == 0 {
		return nil
	}
	_, err := s.DB.ExecContext(ctx, `SELECT pg_notify(`+EventChannelSQL+`, e) FROM unnest(CAST($1 AS text[])) AS e`, events)
	return err
}

// Event is the payload of an event of a task.
func Event(kind, taskID string) string { return kind + ":" + taskID }

// ParseEvent splits an event's payload into its kind and task ID.
func ParseEvent(payload string) (kind, taskID string) {
	kind, taskID, _ = strings.Cut(payload, ":")
	return kind, taskID
}
