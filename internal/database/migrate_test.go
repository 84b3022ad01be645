package database_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/database"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// releasedDatabase copies testdata/handoff-v1.db, written by the release
// before versioned migrations, to a file of the test's own.
func releasedDatabase(t *testing.T) string {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "handoff-v1.db"))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "handoff.db")
	require.NoError(t, os.WriteFile(path, body, 0o644))
	return path
}

// A database made before versioned migrations is recognised as version 1,
// keeps its tasks, and ends with the very schema a new database gets.
func TestOpenAdoptsReleasedDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := database.Open(ctx, releasedDatabase(t), database.Options{})
	require.NoError(t, err)
	defer db.Close()

	applied, err := store.AppliedMigrations(ctx, db.SQL)
	require.NoError(t, err)
	require.Equal(t, versionsUpTo(len(store.Migrations())), applied)

	st := &store.Store{DB: db.SQL}
	for id, want := range map[string]handofftype.State{
		"01a235a3-d5e6-74f3-b0c8-ee54a5392068": handofftype.StateCompleted,
		"01a235a4-105b-7856-826f-db8b79c4826c": handofftype.StateQueued,
		"01a235a4-10e0-7bd6-81ed-24217f3e0b4b": handofftype.StateCancelled,
	} {
		rec, err := st.Get(ctx, id)
		require.NoError(t, err, id)
		require.Equal(t, want, rec.State, id)
		require.Equal(t, "price.go", rec.Request.Module)
		if want == handofftype.StateCompleted {
			require.NotNil(t, rec.Result)
			require.True(t, rec.Result.Success)
		}
	}

	fresh, err := database.Open(ctx, filepath.Join(t.TempDir(), "fresh.db"), database.Options{})
	require.NoError(t, err)
	defer fresh.Close()
	require.Equal(t, sqliteSchema(t, fresh.SQL), sqliteSchema(t, db.SQL))
}

// sqliteSchema returns the statements that made a SQLite database's tables
// and indexes, by name.
func sqliteSchema(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.Query(`SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, stmt string
		require.NoError(t, rows.Scan(&name, &stmt))
		out[name] = stmt
	}
	require.NoError(t, rows.Err())
	return out
}

func versionsUpTo(n int) []int {
	vs := make([]int, n)
	for i := range vs {
		vs[i] = i + 1
	}
	return vs
}

// Every command opens the database; on an up-to-date one that must not wait
// for a write lock, or a status would queue behind a busy worker's writes.
func TestUpToDateOpenTakesNoLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, mk := range testenv.Databases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			url := mk(t)
			db, err := database.Open(ctx, url, database.Options{})
			require.NoError(t, err)
			defer db.Close()

			// Hold what a migration would have to take: SQLite's write lock,
			// PostgreSQL's migration lock, from another connection.
			var holder *sql.DB
			lock, unlock := "BEGIN IMMEDIATE", "ROLLBACK"
			if db.Postgres {
				holder, err = sql.Open("pgx", url)
				lock, unlock = "SELECT pg_advisory_lock(7423119001)", "SELECT pg_advisory_unlock(7423119001)"
			} else {
				holder, err = sql.Open("sqlite", "file:"+url)
			}
			require.NoError(t, err)
			defer holder.Close()
			conn, err := holder.Conn(ctx)
			require.NoError(t, err)
			defer conn.Close()
			_, err = conn.ExecContext(ctx, lock)
			require.NoError(t, err)
			defer conn.ExecContext(ctx, unlock) //nolint:errcheck // closing the connection releases it too

			again, err := database.Open(ctx, url, database.Options{})
			require.NoError(t, err)
			again.Close()
		})
	}
}

// A database a newer handoff (or its newer River) migrated is refused with
// the fix: upgrade.
func TestOpenRefusesNewerDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, mk := range testenv.Databases() {
		for table, insert := range map[string]string{
			"handoff": `INSERT INTO handoff_migration (version, name, applied_at) VALUES (999, 'future', 0)`,
			"river":   `INSERT INTO river_migration (line, version) VALUES ('main', 999)`,
		} {
			t.Run(name+"/"+table, func(t *testing.T) {
				t.Parallel()
				url := mk(t)
				db, err := database.Open(ctx, url, database.Options{})
				require.NoError(t, err)
				_, err = db.SQL.Exec(insert)
				require.NoError(t, err)
				db.Close()

				_, err = database.Open(ctx, url, database.Options{})
				require.ErrorIs(t, err, database.ErrBadDatabase)
				require.ErrorContains(t, err, "migrated by a newer handoff")
				require.ErrorContains(t, err, "upgrade handoff")
			})
		}
	}
}
