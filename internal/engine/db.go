package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for PostgreSQL
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"modernc.org/sqlite" // database/sql driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/handoff-dev/handoff/internal/store"
)

// ErrBadDatabase wraps every failure to open or recognise a database: the
// user named something that is not a handoff database.
var ErrBadDatabase = errors.New("bad database")

// DB is an open handoff database with the River driver that fits it.
type DB struct {
	SQL      *sql.DB
	Driver   riverdriver.Driver[*sql.Tx]
	Postgres bool
	URL      string // as given, for messages; never logged when it holds a password
}

// IsPostgres tells whether a database URL names PostgreSQL.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// SQLitePath returns the file a SQLite URL names ("sqlite://path", "sqlite:path" or a bare path).
func SQLitePath(url string) string {
	p := strings.TrimPrefix(url, "sqlite:")
	return strings.TrimPrefix(p, "//")
}

// Open opens (creating when needed) the database at url and brings River's
// and handoff's tables up to date. A SQLite file that holds something else
// than a handoff database is refused, untouched.
func Open(ctx context.Context, url string) (*DB, error) {
	if IsPostgres(url) {
		return openPostgres(ctx, url)
	}
	return openSQLite(ctx, SQLitePath(url))
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: empty SQLite path; give a file path or postgres:// URL with --db or HANDOFF_DATABASE_URL", ErrBadDatabase)
	}
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return nil, fmt.Errorf("%w: %s is a directory; give a database file path", ErrBadDatabase, path)
		}
		if err := checkSQLiteHeader(path, fi.Size()); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("%w: cannot create the folder for %s: %v", ErrBadDatabase, path, err)
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadDatabase, path, err)
	}
	// One connection per process: SQLite allows one writer at a time, and
	// River's own advice is a single connection to avoid SQLITE_BUSY storms.
	db.SetMaxOpenConns(1)
	d := &DB{SQL: db, Driver: riversqlite.New(db), URL: path}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// checkSQLiteHeader refuses files that are not SQLite databases before the
// driver could treat them as one.
func checkSQLiteHeader(path string, size int64) error {
	if size == 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: cannot read %s: %v", ErrBadDatabase, path, err)
	}
	defer f.Close()
	head := make([]byte, 16)
	if _, err := f.Read(head); err != nil || string(head) != "SQLite format 3\x00" {
		return fmt.Errorf("%w: %s is not a SQLite database; point --db or HANDOFF_DATABASE_URL at a handoff database or a new file", ErrBadDatabase, path)
	}
	return nil
}

func openPostgres(ctx context.Context, url string) (*DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("%w: PostgreSQL: %v", ErrBadDatabase, err)
	}
	db.SetMaxOpenConns(10)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: cannot reach PostgreSQL (%s); check the URL in --db or HANDOFF_DATABASE_URL and that the server runs",
			ErrBadDatabase, redact(err.Error(), url))
	}
	d := &DB{SQL: db, Driver: riverdatabasesql.New(db), Postgres: true, URL: url}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// redact removes a URL (which may carry a password) from a message.
func redact(msg, url string) string {
	return strings.ReplaceAll(msg, url, "<database URL>")
}

// sqliteOpenPatience bounds how long opening a SQLite database keeps
// retrying while other processes hold its locks. Two processes opening a new
// file at once meet SQLite's "database is locked" even with a busy timeout:
// switching the file to WAL mode does not wait on the busy handler.
const sqliteOpenPatience = 30 * time.Second

// migrate applies River's migrations and handoff's schema so that processes
// opening the same new database at once take turns: on SQLite in one BEGIN
// IMMEDIATE transaction, on PostgreSQL under an advisory lock. A SQLite open
// that meets a lock it could not wait for starts again, within a bound.
func (d *DB) migrate(ctx context.Context) error {
	start := time.Now()
	wait := 5 * time.Millisecond
	for {
		err := d.migrateOnce(ctx)
		if err == nil {
			return nil
		}
		if d.Postgres || !isBusy(err) || time.Since(start) > sqliteOpenPatience {
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

// handoffTables are the tables store.Migrate creates.
var handoffTables = []string{"handoff_task", "handoff_task_state", "handoff_worker"}

func (d *DB) migrateOnce(ctx context.Context) error {
	tables, err := d.tables(ctx)
	if err != nil {
		return err
	}
	if err := d.checkForeign(tables); err != nil {
		return err
	}
	m, err := rivermigrate.New(d.Driver, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadDatabase, err)
	}
	// The common case, an up-to-date database, needs no write lock: every
	// command a user runs opens the database, and a status must not queue
	// behind a worker's writes.
	if hasAll(tables, handoffTables) && slices.Contains(tables, "river_migration") {
		if existing, err := m.ExistingVersions(ctx); err == nil && len(existing) == len(m.AllVersions()) {
			return nil
		}
	}
	if d.Postgres {
		return d.migratePostgres(ctx, m)
	}
	tx, err := d.SQL.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock): one process at a time
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
	if _, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil {
		if isBusy(err) {
			return err
		}
		return fmt.Errorf("%w: applying River's migrations: %v", ErrBadDatabase, err)
	}
	if err := store.Migrate(ctx, tx); err != nil {
		if isBusy(err) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrBadDatabase, err)
	}
	return tx.Commit()
}

// migratePostgres migrates under a session-level advisory lock. River's
// PostgreSQL migrations cannot share one transaction (a migration uses an
// enum value an earlier one adds), so each commits on its own.
func (d *DB) migratePostgres(ctx context.Context, m *rivermigrate.Migrator[*sql.Tx]) error {
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
	if err := store.Migrate(ctx, d.SQL); err != nil {
		return fmt.Errorf("%w: %v", ErrBadDatabase, err)
	}
	return nil
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
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

func (d *DB) describe() string {
	if d.Postgres {
		return "the PostgreSQL database"
	}
	return d.URL
}

// Close closes the database.
func (d *DB) Close() error { return d.SQL.Close() }
