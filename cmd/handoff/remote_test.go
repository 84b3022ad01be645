//go:build linux

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/testenv"
)

// TestWorkerElsewhere: a worker that cannot see the submitter's workspace
// (its folder is an empty tmpfs in the worker's mount namespace) runs a
// task from the snapshot in the database, in a directory of its own; the
// kept tests wait in the database, and `wait` in the workspace writes
// them there. On SQLite the database is a file both sides see.
func TestWorkerElsewhere(t *testing.T) {
	t.Parallel()
	unshare := testenv.LookPath(t, "unshare", "apt-get install util-linux")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root, to mount a tmpfs over the workspace's folder in the worker's own mount namespace", "run the tests as root, as CI does")
	}
	each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		outside := func(prefix string) string {
			dir, err := os.MkdirTemp("", prefix)
			require.NoError(t, err)
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
		if dbURL == "" {
			e.vars = append(e.vars, "HANDOFF_DATABASE_URL="+filepath.Join(outside("handoff-db-"), "handoff.db"))
		}
		workDir := outside("handoff-work-")

		sub := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec", "--no-worker")
		require.Equal(t, 0, sub.code, sub.stderr)
		id := strings.TrimSpace(sub.stdout)

		hidden := filepath.Dir(e.ws)
		e.workerVia([]string{unshare, "--mount", "--propagation", "private", "sh", "-c",
			`mount -t tmpfs none "$1" && test ! -e "$2" && exec "$3" worker`, "sh", hidden, e.ws, binary},
			workDir, "HANDOFF_WORK_DIR="+workDir)

		waitUntil(t, 5*time.Minute, "the task finished on the worker that cannot see the workspace", func() bool {
			return e.status(id)["status"] == "COMPLETED"
		})
		require.NoFileExists(t, filepath.Join(e.ws, "calc_test.go"), "the worker could not write into the workspace")
		taskLog := filepath.Join(workDir, ".handoff", "tasks", id, "agent.log")
		log, err := os.ReadFile(taskLog)
		require.NoError(t, err, "the worker keeps the task's log in its own directory")
		require.Contains(t, string(log), "is not on this machine")

		// apply where the workspace is not (the same hidden folder) says so and writes nothing.
		elsewhere := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c",
			`mount -t tmpfs none "$1" && exec "$2" apply "$3"`, "sh", hidden, binary, id)
		elsewhere.Dir = workDir
		elsewhere.Env = append(os.Environ(), e.vars...)
		out, err := elsewhere.CombinedOutput()
		require.Error(t, err, "%s", out)
		require.Contains(t, string(out), "the task's workspace is not on this machine: run it on the machine that submitted task")
		require.NoFileExists(t, filepath.Join(e.ws, "calc_test.go"))

		w := e.run(nil, "wait", id, "--json", "--wait-timeout", "2m")
		require.Equal(t, 0, w.code, w.stdout+w.stderr)
		var res map[string]any
		require.NoError(t, json.Unmarshal([]byte(w.stdout), &res))
		apply := res["apply"].(map[string]any)
		require.Equal(t, true, apply["applied"], "%v", apply)
		require.Equal(t, "submitter", apply["where"])
		require.Nil(t, apply["pending"])
		require.Equal(t, taskLog, res["log_path"])
		got, err := os.ReadFile(filepath.Join(e.ws, "calc_test.go"))
		require.NoError(t, err)
		require.Contains(t, string(got), "func TestAdd(")

		// A second wait finds them applied and writes nothing again.
		again := e.run(nil, "wait", id, "--json")
		require.Equal(t, 0, again.code, again.stderr)
		require.NoError(t, json.Unmarshal([]byte(again.stdout), &res))
		require.Equal(t, "submitter", res["apply"].(map[string]any)["where"])
	})
}
