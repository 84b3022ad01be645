// Package snapstore keeps workspace snapshots in handoff's database, so that
// a worker on any machine, with nothing shared but the database, can
// materialise exactly what was submitted.
//
// A snapshot is a Tree: every file's path, mode and content ID. Contents are
// blobs, one row per distinct content, keyed by its git object ID (so a git
// workspace's own object IDs serve without hashing anything again) and
// stored compressed. Trees and blobs are shared by every task and submit: a
// second submit of a mostly unchanged workspace stores only the changed
// files' blobs and a new tree. Every blob read back is checked against its
// ID. The same SQL runs on SQLite and PostgreSQL.
package snapstore
