package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river/rivermigrate"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/handoff-dev/handoff/internal/store"
)

// sqliteOpenPatience bounds how long opening a SQLite database keeps
// retrying while other processes hold its locks. Two processes opening a new
// file at once meet SQLite's "database is locked" even with a busy timeout:
// switching the file to WAL mode does not wait on the busy handler.
const sqliteOpenPatience = 30 * time.Second

// errMigratedMeanwhile: another process applied a migration while this one
// was applying the same; reading the versions again settles it.
var errMigratedMeanwhile = errors.New("another process migrated the database meanwhile")

// migrate brings River's and handoff's tables up to date.
func (d *DB) migrate(ctx context.Context) error {
	return d.migrateTo(ctx, store.Migrations())
}

// migrateTo applies River's migrations, then handoff's migrations ours, in
// order, each in a transaction of its own that records its version, as
// rivermigrate does. Processes opening the same database at once take turns:
// on PostgreSQL under an advisory lock; on SQLite each migration holds the
// write lock (BEGIN IMMEDIATE), and a process that meets a lock it could not
// wait for, or a version another process applied meanwhile, starts again
// within a bound.
func (d *DB) migrateTo(ctx context.Context, ours []store.Migration) error {
	start := time.Now()
	wait := 5 * time.Millisecond
	for {
		err := d.migrateOnce(ctx, ours)
		if err == nil {
			return nil
		}
		again := isBusy(err) || errors.Is(err, errMigratedMeanwhile)
		if d.Postgres || !again || time.Since(start) > sqliteOpenPatience {
			if errors.Is(err, ErrBadDatabase) {
				return err
			}
			return fmt.Errorf("%w: cannot open %s: %v", ErrBadDatabase, d.describe(), err)
		}
		// Jitter keeps racing processes from meeting again in step.
		t := time.NewTimer(wait/2 + time.Duration(rand.Int64N(int64(wait))))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: cannot open %s: %v", ErrBadDatabase, d.describe(), ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// isBusy tells whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED.
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code() & 0xff
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}

// versions are the migrations a database has recorded.
type versions struct {
	river   []int
	handoff []int
}

func (d *DB) migrateOnce(ctx context.Context, ours []store.Migration) error {
	tables, err := d.tables(ctx)
	if err != nil {
		return err
	}
	if err := d.checkForeign(tables); err != nil {
		return err
	}
	m, err := rivermigrate.New(d.Driver, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadDatabase, err)
	}
	riverAll := versionsOf(m.AllVersions())
	have, err := d.versions(ctx, m, slices.Contains(tables, store.MigrationTable))
	if err != nil {
		// River refuses to list versions it does not know: see whether
		// that is what happened.
		var newest sql.NullInt64
		if d.SQL.QueryRowContext(ctx, `SELECT MAX(version) FROM river_migration`).Scan(&newest) == nil &&
			int(newest.Int64) > slices.Max(riverAll) {
			have.river = []int{int(newest.Int64)}
			return d.checkNotNewer(have, riverAll, ours)
		}
		return err
	}
	if err := d.checkNotNewer(have, riverAll, ours); err != nil {
		return err
	}
	// The common case, an up-to-date database, needs no write lock: every
	// command a user runs opens the database, and a status must not queue
	// behind a worker's writes.
	if len(have.river) == len(riverAll) && len(have.handoff) == len(ours) {
		return nil
	}
	if d.Postgres {
		return d.migratePostgres(ctx, m, have, ours)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		if isBusy(err) {
			return err
		}
		// River reads the versions before it takes the write lock for each
		// migration, so a process that lost a race applies a version again
		// and fails: then the recorded versions have moved.
		if now, verr := m.ExistingVersions(ctx); verr == nil && len(now) != len(have.river) {
			return errMigratedMeanwhile
		}
		return fmt.Errorf("%w: applying River's migrations: %v", ErrBadDatabase, err)
	}
	return d.applyOurs(ctx, have, ours)
}

// migratePostgres migrates under a session-level advisory lock: River's
// migrations cannot share one transaction (a migration uses an enum value an
// earlier one adds), so the lock, not a transaction, keeps processes apart.
func (d *DB) migratePostgres(ctx context.Context, m *rivermigrate.Migrator[*sql.Tx], have versions, ours []store.Migration) error {
	conn, err := d.SQL.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadDatabase, err)
	}
	defer conn.Close()
	// An arbitrary constant: handoff's migration lock.
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7423119001)`); err != nil {
		return fmt.Errorf("%w: taking the migration lock: %v", ErrBadDatabase, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7423119001)`) //nolint:errcheck // the session ends anyway
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("%w: applying River's migrations: %v", ErrBadDatabase, err)
	}
	return d.applyOurs(ctx, have, ours)
}

// applyOurs applies the handoff migrations have lacks, in order, each in its
// own transaction (BEGIN IMMEDIATE on SQLite), which checks again that no
// other process applied it first.
func (d *DB) applyOurs(ctx context.Context, have versions, ours []store.Migration) error {
	for _, mg := range ours {
		if slices.Contains(have.handoff, mg.Version) {
			continue
		}
		tx, err := d.SQL.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		_, err = store.ApplyMigration(ctx, tx, mg, time.Now())
		if err == nil {
			err = tx.Commit()
		}
		if err != nil {
			_ = tx.Rollback()
			if isBusy(err) {
				return err
			}
			return fmt.Errorf("%w: %v", ErrBadDatabase, err)
		}
	}
	return nil
}

// versions reads the migrations the database has recorded; handoff's table
// is read only when it exists (hasOurs), so that no statement fails inside a
// PostgreSQL session.
func (d *DB) versions(ctx context.Context, m *rivermigrate.Migrator[*sql.Tx], hasOurs bool) (versions, error) {
	var v versions
	river, err := m.ExistingVersions(ctx)
	if err != nil {
		return v, err
	}
	v.river = versionsOf(river)
	if hasOurs {
		if v.handoff, err = store.AppliedMigrations(ctx, d.SQL); err != nil {
			return v, err
		}
	}
	return v, nil
}

func versionsOf(ms []rivermigrate.Migration) []int {
	vs := make([]int, len(ms))
	for i, m := range ms {
		vs[i] = m.Version
	}
	return vs
}

// checkNotNewer refuses a database migrated by a newer handoff (or its
// River): this binary would misread tables it does not know.
func (d *DB) checkNotNewer(have versions, riverAll []int, ours []store.Migration) error {
	newest := func(vs []int) int {
		if len(vs) == 0 {
			return 0
		}
		return slices.Max(vs)
	}
	h, r := newest(have.handoff), newest(have.river)
	if h <= len(ours) && r <= newest(riverAll) {
		return nil
	}
	return fmt.Errorf("%w: %s was migrated by a newer handoff (schema version %d, River version %d; this handoff knows up to %d and %d); upgrade handoff to open it",
		ErrBadDatabase, d.describe(), h, r, len(ours), newest(riverAll))
}

// tables lists the database's tables (the current schema on PostgreSQL).
func (d *DB) tables(ctx context.Context) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if d.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := d.SQL.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, rows.Err()
}

// checkForeign refuses a database that has tables but none of River's or
// handoff's: it belongs to something else.
func (d *DB) checkForeign(tables []string) error {
	var others []string
	ours := false
	for _, name := range tables {
		if strings.HasPrefix(name, "river_") || strings.HasPrefix(name, "handoff_") {
			ours = true
		} else {
			others = append(others, name)
		}
	}
	if !ours && len(others) > 0 {
		if len(others) > 5 {
			others = append(others[:5], "…")
		}
		return fmt.Errorf("%w: %s holds other tables (%s) and no handoff tables; use a database of its own (--db or HANDOFF_DATABASE_URL)",
			ErrBadDatabase, d.describe(), strings.Join(others, ", "))
	}
	return nil
}
