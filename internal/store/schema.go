// Package store keeps handoff's own records: tasks, their results and
// durable agent state, and the workers alive for a database. River's job
// table drives execution; these tables are the durable truth a user reads,
// never expired by River's job retention. The same SQL serves SQLite and
// PostgreSQL.
package store

import (
	"context"
	"database/sql"
	"fmt"
)

// schema is applied idempotently at open. Times are Unix milliseconds so the
// one schema works on SQLite and PostgreSQL alike.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS handoff_task (
		id               TEXT PRIMARY KEY,
		job_id           BIGINT,
		idempotency_key  TEXT UNIQUE,
		request_hash     TEXT NOT NULL,
		request          TEXT NOT NULL,
		snapshot         TEXT NOT NULL,
		workspace        TEXT NOT NULL,
		module           TEXT NOT NULL,
		output           TEXT NOT NULL,
		language         TEXT NOT NULL,
		agent            TEXT NOT NULL,
		state            TEXT NOT NULL,
		attempt          INTEGER NOT NULL DEFAULT 0,
		max_attempts     INTEGER NOT NULL,
		last_error       TEXT NOT NULL DEFAULT '',
		progress         TEXT NOT NULL DEFAULT '',
		success          INTEGER,
		result           TEXT,
		labels           TEXT NOT NULL DEFAULT '{}',
		cancel_requested INTEGER NOT NULL DEFAULT 0,
		heartbeat_at     BIGINT,
		created_at       BIGINT NOT NULL,
		started_at       BIGINT,
		completed_at     BIGINT
	)`,
	`CREATE INDEX IF NOT EXISTS handoff_task_state_idx ON handoff_task (state, created_at)`,
	`CREATE TABLE IF NOT EXISTS handoff_task_state (
		task_id TEXT NOT NULL,
		key     TEXT NOT NULL,
		value   TEXT NOT NULL,
		PRIMARY KEY (task_id, key)
	)`,
	`CREATE TABLE IF NOT EXISTS handoff_worker (
		id           TEXT PRIMARY KEY,
		pid          INTEGER NOT NULL,
		host         TEXT NOT NULL,
		started_at   BIGINT NOT NULL,
		heartbeat_at BIGINT NOT NULL
	)`,
}

// Execer is what Migrate needs: a *sql.DB or a *sql.Tx.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Migrate creates handoff's tables when they are missing. Given a
// transaction, it commits nothing itself, so River's migrations and these
// land together.
func Migrate(ctx context.Context, db Execer) error {
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("creating handoff tables: %w", err)
		}
	}
	return nil
}
