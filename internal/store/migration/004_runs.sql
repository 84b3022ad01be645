-- Finished pipeline runs (`handoff run` in local mode), for the dashboard of `handoff serve`, which
-- does not see the workspaces the runs wrote their reports in. report is the run's JSON report
-- (the --report file); timeline its SVG picture; logs a JSON object of stage name → the end of
-- that stage's log (empty when none was kept). ok is 1 when every stage succeeded.
CREATE TABLE handoff_run (
		id         TEXT PRIMARY KEY,
		pipeline   TEXT NOT NULL,
		started_at BIGINT NOT NULL,
		wall_ms    BIGINT NOT NULL,
		ok         INTEGER NOT NULL,
		report     TEXT NOT NULL,
		timeline   TEXT NOT NULL,
		logs       TEXT NOT NULL DEFAULT '{}'
	);
CREATE INDEX handoff_run_started_idx ON handoff_run (started_at DESC, id DESC);
