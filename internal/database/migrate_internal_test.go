package database

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// The mechanism a future migration will use, shown with test-only
// migrations added after handoff's own.

// withTestMigrations returns handoff's migrations followed by sqls as the
// next versions.
func withTestMigrations(sqls ...string) []store.Migration {
	ms := store.Migrations()
	for i, s := range sqls {
		v := len(store.Migrations()) + i + 1
		ms = append(ms, store.Migration{Version: v, Name: fmt.Sprintf("test_%d", v), SQL: s})
	}
	return ms
}

func applied(t *testing.T, d *DB) []int {
	t.Helper()
	vs, err := store.AppliedMigrations(context.Background(), d.SQL)
	require.NoError(t, err)
	return vs
}

// A new migration reaches an existing database, in order, once: the second
// depends on the first, and neither could run twice.
func TestNewMigrationReachesExistingDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, mk := range testenv.Databases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			url := mk(t)
			d, err := Open(ctx, url, Options{})
			require.NoError(t, err)
			defer d.Close()
			n := len(store.Migrations())
			require.Len(t, applied(t, d), n)

			next := withTestMigrations(
				`ALTER TABLE handoff_task ADD COLUMN note TEXT NOT NULL DEFAULT ''`,
				`CREATE INDEX handoff_task_note_idx ON handoff_task (note)`,
			)
			require.NoError(t, d.migrateTo(ctx, next))
			want := make([]int, n+2)
			for i := range want {
				want[i] = i + 1
			}
			require.Equal(t, want, applied(t, d))
			_, err = d.SQL.Exec(`SELECT note FROM handoff_task`)
			require.NoError(t, err)
			require.NoError(t, d.migrateTo(ctx, next), "applied migrations run again")

			_, err = Open(ctx, url, Options{})
			require.ErrorContains(t, err, "upgrade handoff", "a binary that knows fewer migrations opened the database")
		})
	}
}

// A migration that fails leaves nothing of itself and is not recorded; those
// before it stay.
func TestFailedMigrationIsNotRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, mk := range testenv.Databases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, err := Open(ctx, mk(t), Options{})
			require.NoError(t, err)
			defer d.Close()
			n := len(store.Migrations())

			err = d.migrateTo(ctx, withTestMigrations(
				`CREATE TABLE handoff_test_a (x INTEGER)`,
				`CREATE TABLE handoff_test_b (x INTEGER); INSERT INTO no_such_table VALUES (1)`,
			))
			require.ErrorIs(t, err, ErrBadDatabase)
			require.ErrorContains(t, err, fmt.Sprintf("migration %03d", n+2))
			require.Len(t, applied(t, d), n+1)
			tables, err := d.tables(ctx)
			require.NoError(t, err)
			require.Contains(t, tables, "handoff_test_a")
			require.NotContains(t, tables, "handoff_test_b")

			require.NoError(t, d.migrateTo(ctx, withTestMigrations(
				`CREATE TABLE handoff_test_a (x INTEGER)`,
				`CREATE TABLE handoff_test_b (x INTEGER)`,
			)))
			require.Len(t, applied(t, d), n+2)
		})
	}
}
