package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for PostgreSQL
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

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

// migrate applies River's migrations and handoff's schema. Concurrent
// processes opening the same new database serialise on a lock (PostgreSQL)
// or SQLite's write lock.
func (d *DB) migrate(ctx context.Context) error {
	if err := d.checkForeign(ctx); err != nil {
		return err
	}
	var unlock func()
	if d.Postgres {
		conn, err := d.SQL.Conn(ctx)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadDatabase, err)
		}
		// An arbitrary constant: handoff's migration lock.
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7423119001)`); err != nil {
			conn.Close()
			return fmt.Errorf("%w: taking the migration lock: %v", ErrBadDatabase, err)
		}
		unlock = func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7423119001)`)
			conn.Close()
		}
		defer unlock()
	}
	m, err := rivermigrate.New(d.Driver, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadDatabase, err)
	}
	var lastErr error
	for range 3 { // two SQLite processes racing on a new file: the loser retries
		if _, lastErr = m.Migrate(ctx, rivermigrate.DirectionUp, nil); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		return fmt.Errorf("%w: applying River's migrations: %v", ErrBadDatabase, lastErr)
	}
	if err := store.Migrate(ctx, d.SQL); err != nil {
		return fmt.Errorf("%w: %v", ErrBadDatabase, err)
	}
	return nil
}

// checkForeign refuses a database that has tables but none of River's or
// handoff's: it belongs to something else.
func (d *DB) checkForeign(ctx context.Context) error {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if d.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	rows, err := d.SQL.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("%w: cannot read %s: %v", ErrBadDatabase, d.describe(), err)
	}
	defer rows.Close()
	var others []string
	ours := false
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		if strings.HasPrefix(name, "river_") || strings.HasPrefix(name, "handoff_") {
			ours = true
		} else {
			others = append(others, name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: cannot read %s: %v", ErrBadDatabase, d.describe(), err)
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
