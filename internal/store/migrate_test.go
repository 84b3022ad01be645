package store

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

// released pins every released migration's content: a database that
// recorded a version must never see that version mean something else. Add a
// line when a migration ships; never change one.
var released = map[int]string{
	1: "5ab9cdf87f5e668bb546289c320734f226bceb98e084e73d83c3118c40c762af",
}

func TestReleasedMigrationsNeverChange(t *testing.T) {
	t.Parallel()
	ms := Migrations()
	require.GreaterOrEqual(t, len(ms), len(released), "a released migration is missing")
	for _, m := range ms {
		sum := sha256.Sum256([]byte(m.SQL))
		want, ok := released[m.Version]
		if !ok {
			continue // not released yet
		}
		require.Equal(t, want, hex.EncodeToString(sum[:]),
			"migration %03d_%s.sql was edited after its release; restore it and put the change in a new migration", m.Version, m.Name)
	}
}

func TestMigrationsAreNumberedFromOne(t *testing.T) {
	t.Parallel()
	for i, m := range Migrations() {
		require.Equal(t, i+1, m.Version)
		require.NotEmpty(t, m.Name)
		require.NotEmpty(t, m.SQL)
	}
}

func TestBadMigrationFilesAreRefused(t *testing.T) {
	t.Parallel()
	sql := &fstest.MapFile{Data: []byte("SELECT 1;")}
	for name, files := range map[string]fstest.MapFS{
		"gap":        {"m/001_a.sql": sql, "m/003_c.sql": sql},
		"not from 1": {"m/002_b.sql": sql},
		"no name":    {"m/001.sql": sql},
		"unpadded":   {"m/1_a.sql": sql},
		"not sql":    {"m/001_a.txt": sql},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := readMigrations(files, "m")
			require.Error(t, err)
		})
	}
	ms, err := readMigrations(fstest.MapFS{"m/001_a.sql": sql, "m/002_b.sql": sql}, "m")
	require.NoError(t, err)
	require.Equal(t, []Migration{{1, "a", "SELECT 1;"}, {2, "b", "SELECT 1;"}}, ms)
}
