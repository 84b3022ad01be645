// Package database opens handoff's database, SQLite or PostgreSQL, and
// brings River's and handoff's tables up to date (migrate.go). It hands the
// engine one *sql.DB for handoff's own SQL and the River driver that fits
// it; on PostgreSQL both draw from one pgx connection pool, from which
// listeners also take their dedicated connections for LISTEN/NOTIFY.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// ErrBadDatabase wraps every failure to open or recognise a database: the
// user named something that is not a handoff database.
var ErrBadDatabase = errors.New("bad database")

// ErrNoDatabase is returned by OpenExisting when there is no handoff
// database where the URL points.
var ErrNoDatabase = errors.New("no handoff database")

// DB is an open handoff database with the River driver that fits it.
type DB struct {
	// SQL serves handoff's own statements and transactions, River's
	// included (Driver works on the same *sql.DB, so a task's row and its
	// job are written in one transaction).
	SQL    *sql.DB
	Driver riverdriver.Driver[*sql.Tx]
	// Pool is the PostgreSQL connection pool that SQL draws from and that
	// listeners take their dedicated connections from; nil on SQLite.
	Pool     *pgxpool.Pool
	Postgres bool
	URL      string // as given, for messages; never logged when it holds a password
}

// Options tune Open and OpenExisting. The zero value works.
type Options struct {
	// Workers is how many tasks the opening process runs at once: it sizes
	// the PostgreSQL connection pool (see poolSize). Zero is a process that
	// runs few or none.
	Workers int
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

// schemePattern matches a URL's "scheme://" prefix.
var schemePattern = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)

// CheckURL refuses a database URL with a scheme handoff does not speak
// (mysql://, …), which would otherwise be taken for a SQLite file path.
// The message never repeats the URL: it may carry a password.
func CheckURL(url string) error {
	m := schemePattern.FindStringSubmatch(url)
	if m == nil {
		return nil
	}
	switch m[1] {
	case "sqlite", "postgres", "postgresql":
		return nil
	}
	return fmt.Errorf("%w: the database URL's scheme %s:// is not one handoff supports; give a SQLite file path (or sqlite://path) or a postgres:// (postgresql://) URL with --db or HANDOFF_DATABASE_URL",
		ErrBadDatabase, m[1])
}

// Open opens (creating when needed) the database at url and brings River's
// and handoff's tables up to date. A SQLite file that holds something else
// than a handoff database is refused untouched: it is inspected read-only
// before anything opens it for writing.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	if err := CheckURL(url); err != nil {
		return nil, err
	}
	if IsPostgres(url) {
		return openPostgres(ctx, url, opts)
	}
	path := SQLitePath(url)
	if _, err := inspectSQLite(ctx, path); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("%w: cannot create the folder for %s: %v", ErrBadDatabase, path, err)
	}
	return openSQLite(ctx, path, "rwc")
}

// OpenExisting opens the handoff database at url as Open does, but never
// creates one: a SQLite file that is missing or holds no handoff tables,
// or a PostgreSQL database without them, is ErrNoDatabase, and nothing is
// written. It serves commands that only read.
func OpenExisting(ctx context.Context, url string, opts Options) (*DB, error) {
	if err := CheckURL(url); err != nil {
		return nil, err
	}
	if IsPostgres(url) {
		d, err := connectPostgres(ctx, url, opts)
		if err != nil {
			return nil, err
		}
		tables, err := d.tables(ctx)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("%w: reading the PostgreSQL database's tables: %v", ErrBadDatabase, redact(err.Error(), url))
		}
		if !slices.Contains(tables, "handoff_task") {
			d.Close()
			return nil, fmt.Errorf("%w: the PostgreSQL database (its current schema) has no handoff tables", ErrNoDatabase)
		}
		if err := d.migrate(ctx); err != nil {
			d.Close()
			return nil, err
		}
		return d, nil
	}
	path := SQLitePath(url)
	tables, err := inspectSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(tables, "handoff_task") {
		return nil, fmt.Errorf("%w at %s", ErrNoDatabase, path)
	}
	return openSQLite(ctx, path, "rw")
}

// openSQLite opens the file at path for writing, in WAL mode, and migrates
// it. mode is SQLite's: "rwc" creates a missing file, "rw" fails instead.
func openSQLite(ctx context.Context, path, mode string) (*DB, error) {
	dsn := "file:" + path + "?mode=" + mode + "&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
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

// inspectSQLite looks at the file at path without writing to it or creating
// anything beside it, and returns its tables: none for a missing or empty
// file. It refuses a directory, a file that is not a SQLite database, and
// one that holds another application's tables, so that such a file is
// never opened for writing (which alone would switch it to WAL mode).
func inspectSQLite(ctx context.Context, path string) ([]string, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: empty SQLite path; give a file path or postgres:// URL with --db or HANDOFF_DATABASE_URL", ErrBadDatabase)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: cannot read %s: %v", ErrBadDatabase, path, err)
	case fi.IsDir():
		return nil, fmt.Errorf("%w: %s is a directory; give a database file path", ErrBadDatabase, path)
	case fi.Size() == 0:
		return nil, nil
	}
	wal, err := checkSQLiteHeader(path)
	if err != nil {
		return nil, err
	}
	// mode=ro takes SQLite's locks but writes nothing. In WAL mode a
	// read-only connection still creates the -wal and -shm files when they
	// are missing; they are missing only when no connection has the file
	// open and everything is checkpointed into it, so the file alone is
	// then the whole database and can be read as immutable, without them.
	params := "mode=ro"
	if _, err := os.Stat(path + "-wal"); wal && errors.Is(err, fs.ErrNotExist) {
		params = "immutable=1"
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+params+"&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadDatabase, path, err)
	}
	defer db.Close()
	d := &DB{SQL: db, URL: path}
	tables, err := d.tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read the tables of %s: %v", ErrBadDatabase, path, err)
	}
	if err := d.checkForeign(tables); err != nil {
		return nil, err
	}
	return tables, nil
}

// checkSQLiteHeader refuses files that are not SQLite databases before the
// driver could treat them as one, and tells whether the file is in WAL
// mode (the header's read and write versions are 2).
func checkSQLiteHeader(path string) (wal bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("%w: cannot read %s: %v", ErrBadDatabase, path, err)
	}
	defer f.Close()
	head := make([]byte, 100)
	if _, err := io.ReadFull(f, head); err != nil || string(head[:16]) != "SQLite format 3\x00" {
		return false, fmt.Errorf("%w: %s is not a SQLite database; point --db or HANDOFF_DATABASE_URL at a handoff database or a new file", ErrBadDatabase, path)
	}
	return head[18] == 2 && head[19] == 2, nil
}

// openPostgres connects to PostgreSQL and migrates.
func openPostgres(ctx context.Context, url string, opts Options) (*DB, error) {
	d, err := connectPostgres(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	if err := d.migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Pool sizes: see poolSize.
const (
	poolReserve = 6  // River's fetcher, completer and leader, the engine's worker beat and rescue, a waiter
	poolMin     = 10 // what database/sql allowed before the pool: enough for commands and waiters
	poolMax     = 20 // the server's cores, not its connections, bound how many statements run at once
)

// poolSize is the PostgreSQL pool's size for a process running workers
// tasks at once. A task holds no connection while its agent works: it
// takes one for each statement (heartbeat, progress, state, its verdict)
// and gives it back. Beside the tasks, River needs a few (its fetcher, its
// completer, its leader's maintenance) and so do the engine's worker
// heartbeat and rescue, and any waiter. With a connection for each task on
// top of those, a heartbeat never waits for a connection behind other
// tasks' statements, so no task can miss its lease for want of one. Past
// poolMax a process's tasks take turns, each for a statement's time
// (milliseconds, far inside a lease), which is all a database server with
// a few cores does with more connections anyway, and two or three busy
// workers stay well within PostgreSQL's default of 100 connections.
// Listeners (River's and handoff's) hijack their connections out of the
// pool and do not count. A pool_max_conns in the URL overrides this.
func poolSize(workers int) int32 {
	return int32(min(max(workers+poolReserve, poolMin), poolMax))
}

// connectPostgres opens a pgx pool, checks the server answers, and serves
// handoff's SQL and River's through database/sql on that pool. River's
// database/sql driver gets the pool for its listener: River's notifier
// runs, so workers fetch a task the moment it is inserted.
func connectPostgres(ctx context.Context, url string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%w: PostgreSQL: %v", ErrBadDatabase, redact(err.Error(), url))
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = poolSize(opts.Workers)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: PostgreSQL: %v", ErrBadDatabase, redact(err.Error(), url))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%w: cannot reach PostgreSQL (%s); check the URL in --db or HANDOFF_DATABASE_URL and that the server runs",
			ErrBadDatabase, redact(err.Error(), url))
	}
	db := stdlib.OpenDBFromPool(pool)
	return &DB{SQL: db, Pool: pool, Driver: riverdatabasesql.NewWithPgxListener(db, pool), Postgres: true, URL: url}, nil
}

// redact removes a URL (which may carry a password) from a message.
func redact(msg, url string) string {
	return strings.ReplaceAll(msg, url, "<database URL>")
}

func (d *DB) describe() string {
	if d.Postgres {
		return "the PostgreSQL database"
	}
	return d.URL
}

// Close closes the database.
func (d *DB) Close() error {
	err := d.SQL.Close()
	if d.Pool != nil {
		d.Pool.Close()
	}
	return err
}
