package testenv

import (
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

var schemaSeq atomic.Int64

// PostgresSchema creates a fresh schema in the test PostgreSQL database and
// returns a URL whose search_path selects it, so that parallel tests never
// see each other's tasks or jobs. The schema is dropped at cleanup. Skips
// (or fails under HANDOFF_REQUIRE_ALL=1) when no test database is set.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	schema := fmt.Sprintf("t_%d_%d", time.Now().UnixNano(), schemaSeq.Add(1))
	exec := func(q string) error {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.Exec(q)
		return err
	}
	if err := exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("creating a test schema: %v", err)
	}
	t.Cleanup(func() { _ = exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("HANDOFF_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Databases returns the databases to run a test against, by name: a fresh
// SQLite file always, and a fresh PostgreSQL schema (see PostgresSchema).
func Databases() map[string]func(t testing.TB) string {
	return map[string]func(t testing.TB) string{
		"sqlite":   func(t testing.TB) string { return filepath.Join(t.TempDir(), "handoff.db") },
		"postgres": PostgresSchema,
	}
}
