-- API tokens of `handoff serve`. Only the SHA-256 of a token is kept (hex); the token itself is
-- shown once, when it is created. scopes is a comma-separated list (submit, read, cancel, admin).
-- A name is unique among live tokens: a revoked token's name may be given again.
CREATE TABLE handoff_token (
		id           TEXT PRIMARY KEY,
		name         TEXT NOT NULL,
		scopes       TEXT NOT NULL,
		hash         TEXT NOT NULL UNIQUE,
		created_at   BIGINT NOT NULL,
		last_used_at BIGINT,
		revoked_at   BIGINT
	);
CREATE UNIQUE INDEX handoff_token_live_name_idx ON handoff_token (name) WHERE revoked_at IS NULL;
