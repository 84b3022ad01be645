-- handoff's tables as the releases before versioned migrations made them, statement for
-- statement. IF NOT EXISTS lets this migration adopt such a database: on one it changes nothing
-- and records version 1. Released: never edit this file; add a migration instead.
CREATE TABLE IF NOT EXISTS handoff_task (
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
	);
CREATE INDEX IF NOT EXISTS handoff_task_state_idx ON handoff_task (state, created_at);
CREATE TABLE IF NOT EXISTS handoff_task_state (
		task_id TEXT NOT NULL,
		key     TEXT NOT NULL,
		value   TEXT NOT NULL,
		PRIMARY KEY (task_id, key)
	);
CREATE TABLE IF NOT EXISTS handoff_worker (
		id           TEXT PRIMARY KEY,
		pid          INTEGER NOT NULL,
		host         TEXT NOT NULL,
		started_at   BIGINT NOT NULL,
		heartbeat_at BIGINT NOT NULL
	);
