-- Snapshots stored in the database, so that a worker on any machine can materialise what was
-- submitted. A blob is one distinct file content, keyed by its git object ID and stored
-- compressed (DEFLATE); a tree lists a snapshot's paths, modes and blob IDs (compressed JSON),
-- keyed by the SHA-256 of that list, and found again by its source (a git tree's ID) without listing it.
-- Both are shared across tasks and submits. A task's kept test
-- files wait beside its result (compressed JSON) until they are applied where the workspace is.
-- Each worker records what it can serve (languages, toolchain versions, agents, limits; JSON), so
-- that a queued task no live worker can run says so.
CREATE TABLE handoff_blob (
		id         TEXT PRIMARY KEY,
		size       BIGINT NOT NULL,
		data       BYTEA NOT NULL,
		created_at BIGINT NOT NULL
	);
CREATE TABLE handoff_tree (
		id         TEXT PRIMARY KEY,
		files      INTEGER NOT NULL,
		size       BIGINT NOT NULL,
		entries    BYTEA NOT NULL,
		source     TEXT,
		created_at BIGINT NOT NULL
	);
CREATE INDEX handoff_tree_source_idx ON handoff_tree (source);
ALTER TABLE handoff_task ADD COLUMN kept_files BYTEA;
ALTER TABLE handoff_worker ADD COLUMN capabilities TEXT NOT NULL DEFAULT '{}';
ALTER TABLE handoff_worker ADD COLUMN running INTEGER NOT NULL DEFAULT 0;
