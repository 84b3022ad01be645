package database_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/database"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// openChildEnv makes the test binary, run again, open one database and exit:
// a separate process, as the CLI's commands and workers are.
const openChildEnv = "HANDOFF_TEST_OPEN_CHILD"

func TestMain(m *testing.M) {
	if url := os.Getenv(openChildEnv); url != "" {
		db, err := database.Open(context.Background(), url, database.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		db.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Processes that open one new SQLite file at the same moment (a submit and
// the worker it starts, a test's worker and its generate) all get a usable
// database. CI once saw the loser fail with "database is locked": turning a
// new file to WAL mode does not wait on SQLite's busy handler, and River's
// migrations, one transaction each, could interleave.
func TestConcurrentOpensOfNewDatabase(t *testing.T) {
	t.Parallel()
	for name, mk := range testenv.Databases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rounds := 10
			if name == "sqlite" { // cheap, and the race it guards is rare per round
				rounds = 30
			}
			for round := range rounds {
				url := mk(t) // a new file or schema each round
				var wg sync.WaitGroup
				errs := make([]string, 8)
				for i := range errs {
					wg.Go(func() {
						cmd := exec.Command(os.Args[0], "-test.run=^$")
						cmd.Env = append(os.Environ(), openChildEnv+"="+url)
						if out, err := cmd.CombinedOutput(); err != nil {
							errs[i] = fmt.Sprintf("%v: %s", err, out)
						}
					})
				}
				wg.Wait()
				for i, e := range errs {
					require.Empty(t, e, "round %d, process %d", round, i)
				}
				db, err := database.Open(context.Background(), url, database.Options{})
				require.NoError(t, err)
				var n int
				require.NoError(t, db.SQL.QueryRow(`SELECT count(*) FROM handoff_task`).Scan(&n))
				db.Close()
			}
		})
	}
}
