// Package testenv lets tests find the outside tools they need (pytest,
// PostgreSQL, bubblewrap) and skip with a clear message when one is missing.
// Under HANDOFF_REQUIRE_ALL=1 (set by CI) a missing tool fails the test
// instead, so CI can never go green by skipping.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Missing skips t, or fails it under HANDOFF_REQUIRE_ALL=1, because what is
// missing and how to get it.
func Missing(t testing.TB, what, how string) {
	t.Helper()
	if os.Getenv("HANDOFF_REQUIRE_ALL") == "1" {
		t.Fatalf("%s is required (HANDOFF_REQUIRE_ALL=1) but missing: %s", what, how)
	}
	t.Skipf("skipped: %s is missing; %s", what, how)
}

// LookPath returns the path of a program, or skips/fails t when it is absent.
func LookPath(t testing.TB, name, how string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, how)
	}
	return p
}

// PostgresURL returns HANDOFF_TEST_POSTGRES_URL, or skips/fails t when unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("HANDOFF_TEST_POSTGRES_URL")
	if u == "" {
		Missing(t, "PostgreSQL", "set HANDOFF_TEST_POSTGRES_URL=postgres://user@host/db to run the PostgreSQL tests")
	}
	return u
}
