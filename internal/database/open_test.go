package database_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/database"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// dirState is every file in dir with its content's hash: what "untouched"
// means for a database file and the -wal, -shm or -journal files beside it.
func dirState(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	state := map[string][32]byte{}
	for _, e := range entries {
		if e.IsDir() {
			continue // files only: a database and what SQLite puts beside it
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		state[e.Name()] = sha256.Sum256(b)
	}
	return state
}

// A SQLite file of another application is refused by Open and OpenExisting
// and stays byte-identical, with no file left beside it, whether it is in
// rollback or in WAL mode.
func TestOpenRefusesForeignSQLiteUntouched(t *testing.T) {
	t.Parallel()
	for _, journal := range []string{"DELETE", "WAL"} {
		t.Run(journal, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "app.db")
			db, err := sql.Open("sqlite", path)
			require.NoError(t, err)
			_, err = db.Exec("PRAGMA journal_mode=" + journal)
			require.NoError(t, err)
			_, err = db.Exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
			require.NoError(t, err)
			_, err = db.Exec("INSERT INTO customers (name) VALUES ('ada')")
			require.NoError(t, err)
			require.NoError(t, db.Close())
			before := dirState(t, dir)
			require.Equal(t, []string{"app.db"}, slices.Sorted(maps.Keys(before)))

			for name, open := range map[string]func(context.Context, string, database.Options) (*database.DB, error){
				"Open": database.Open, "OpenExisting": database.OpenExisting,
			} {
				for _, url := range []string{path, "sqlite://" + path} {
					_, err := open(context.Background(), url, database.Options{})
					require.ErrorIs(t, err, database.ErrBadDatabase, name)
					require.ErrorContains(t, err, "holds other tables (customers)", name)
					require.Equal(t, before, dirState(t, dir), "%s %s: the file and its folder are untouched", name, url)
				}
			}
		})
	}
}

// A URL whose scheme handoff does not speak is refused before anything is
// created, and the message names the supported ones without repeating the
// URL, which may hold a password.
func TestOpenRefusesUnknownScheme(t *testing.T) {
	t.Parallel()
	wd, err := os.Getwd()
	require.NoError(t, err)
	before := dirState(t, wd)
	for _, url := range []string{"mysql://root:s3cret@localhost/app", "redis://localhost:6379", "Postgres://x@y/z"} {
		for name, open := range map[string]func(context.Context, string, database.Options) (*database.DB, error){
			"Open": database.Open, "OpenExisting": database.OpenExisting,
		} {
			_, err := open(context.Background(), url, database.Options{})
			require.ErrorIs(t, err, database.ErrBadDatabase, "%s %s", name, url)
			require.ErrorContains(t, err, "is not one handoff supports", url)
			require.ErrorContains(t, err, "postgres://", url)
			require.NotContains(t, err.Error(), "s3cret")
		}
	}
	require.Equal(t, before, dirState(t, wd), "no folder named after the URL")
}

// OpenExisting never creates a database: a missing file stays missing
// (and so does its folder), an empty PostgreSQL schema stays empty; once
// Open made the database, OpenExisting opens it.
func TestOpenExisting(t *testing.T) {
	t.Parallel()
	for name, mk := range testenv.Databases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := mk(t)
			if name == "sqlite" {
				url = filepath.Join(filepath.Dir(url), "state", "handoff.db")
			}
			_, err := database.OpenExisting(ctx, url, database.Options{})
			require.ErrorIs(t, err, database.ErrNoDatabase)
			if name == "sqlite" {
				require.ErrorContains(t, err, url, "it says where it looked")
				require.NoDirExists(t, filepath.Dir(url))
			} else {
				db, err := sql.Open("pgx", url)
				require.NoError(t, err)
				defer db.Close()
				var n int
				require.NoError(t, db.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&n))
				require.Zero(t, n, "no table was created")
			}

			db, err := database.Open(ctx, url, database.Options{})
			require.NoError(t, err)
			require.NoError(t, db.Close())
			db, err = database.OpenExisting(ctx, url, database.Options{})
			require.NoError(t, err)
			var n int
			require.NoError(t, db.SQL.QueryRow(`SELECT count(*) FROM handoff_task`).Scan(&n))
			require.NoError(t, db.Close())
		})
	}
}

// An empty file, or a SQLite database with no tables at all, is not a
// handoff database to read; Open may still make one of it.
func TestOpenExistingEmptyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "empty.db")
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	_, err := database.OpenExisting(context.Background(), path, database.Options{})
	require.ErrorIs(t, err, database.ErrNoDatabase)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Zero(t, fi.Size())
	db, err := database.Open(context.Background(), path, database.Options{})
	require.NoError(t, err)
	require.NoError(t, db.Close())
}
