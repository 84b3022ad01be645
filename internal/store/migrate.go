package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Migration is one numbered change to handoff's tables. A released
// migration is never edited: a later change is a new migration.
type Migration struct {
	Version int    // 1, 2, …: the order they apply in
	Name    string // from the file name, for messages
	SQL     string // one or more statements, valid on SQLite and PostgreSQL
}

//go:embed migration/*.sql
var migrationFS embed.FS

// Migrations returns handoff's migrations, oldest first: migration/NNN_name.sql,
// numbered 1, 2, … without gaps.
func Migrations() []Migration { return slices.Clone(migrations()) }

var migrations = sync.OnceValue(func() []Migration {
	ms, err := readMigrations(migrationFS, "migration")
	if err != nil {
		panic(err) // the files are embedded: a bad one is caught by the package's tests
	}
	return ms
})

func readMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries { // ReadDir sorts by name; the zero-padded numbers keep that the order
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 3 || name == "" || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration file %s: name it NNN_what.sql", e.Name())
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("migration file %s: expected version %d next", e.Name(), len(ms)+1)
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(body)})
	}
	return ms, nil
}

// MigrationTable records the versions of handoff's migrations applied to a
// database, as river_migration does River's.
const MigrationTable = "handoff_migration"

// AppliedMigrations returns the versions recorded in handoff_migration, in
// order. The table must exist (it does once any migration has run).
func AppliedMigrations(ctx context.Context, q Querier) ([]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM handoff_migration ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("reading handoff's migration versions: %w", err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// ApplyMigration runs m in tx and records it, creating handoff_migration on
// first use. It reports false, changing nothing, when m is recorded already:
// another process got there first. The caller holds the migration lock
// (SQLite: tx is BEGIN IMMEDIATE; PostgreSQL: the advisory lock) and
// commits.
func ApplyMigration(ctx context.Context, tx Querier, m Migration, now time.Time) (bool, error) {
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS handoff_migration (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return false, fmt.Errorf("creating handoff_migration: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM handoff_migration WHERE version = $1`, m.Version).Scan(&n); err != nil {
		return false, fmt.Errorf("reading handoff's migration versions: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("applying handoff migration %03d (%s): %w", m.Version, m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO handoff_migration (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.Version, m.Name, now.UnixMilli()); err != nil {
		return false, fmt.Errorf("recording handoff migration %03d: %w", m.Version, err)
	}
	return true, nil
}
