// Package handoff hands unit-test generation to coding agents and keeps the
// pipeline moving.
//
// Four calls carry the idea: Submit returns a task ID in milliseconds; Status
// reports QUEUED, RUNNING, COMPLETED, FAILED or CANCELLED without waiting;
// Wait waits for the verified result, up to a timeout that leaves the task
// running; Generate is Submit plus Wait. Cancel and List complete the set.
//
// Tasks are durable: they live in a database (SQLite at
// <workspace>/.handoff/handoff.db by default, or PostgreSQL), run on River
// workers in this or any other process, survive the submitting process's exit
// and a worker's crash. A result counts only what verification accepts: a
// generated test is kept when it builds, passes reliably and raises the
// module's coverage; the kept tests are applied to the workspace.
package handoff
