// Package store keeps handoff's own records: tasks, their results and
// durable agent state, and the workers alive for a database. River's job
// table drives execution; these tables are the durable truth a user reads,
// never expired by River's job retention. The same SQL serves SQLite and
// PostgreSQL.
//
// The tables change only through numbered migrations (migration/*.sql),
// recorded in handoff_migration; see Migrations.
package store
