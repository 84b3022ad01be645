package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// autostart lets the env's submits start background workers, and kills
// those workers (found by their cards) when t ends.
func (e *env) autostart() {
	e.vars = slices.DeleteFunc(e.vars, func(v string) bool { return v == "HANDOFF_NO_AUTOSTART=1" })
	e.t.Cleanup(func() {
		paths, _ := filepath.Glob(filepath.Join(e.ws, ".handoff", "workers", "worker-*.json"))
		for _, p := range paths {
			var c card
			if b, err := os.ReadFile(p); err == nil && json.Unmarshal(b, &c) == nil && c.PID > 0 {
				_ = syscall.Kill(-c.PID, syscall.SIGKILL) // its own session: the worker and its agents
			}
		}
		if e.t.Failed() {
			if b, err := os.ReadFile(filepath.Join(e.ws, ".handoff", "worker.log")); err == nil {
				e.t.Logf("background workers' log:\n%s", b)
			}
		}
	})
}

// waitResult waits for a task's result and returns it decoded.
func (e *env) waitResult(id string) map[string]any {
	e.t.Helper()
	w := e.run(nil, "wait", id, "--wait-timeout", "3m", "--poll-interval", "100ms", "--json")
	require.Equal(e.t, 0, w.code, w.stdout+w.stderr)
	var res map[string]any
	require.NoError(e.t, json.Unmarshal([]byte(w.stdout), &res))
	return res
}

// marker is what a task's agent command wrote about itself in marks.
func marker(t *testing.T, marks, id string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(marks, id))
	require.NoError(t, err, "the agent of task %s left no marker", id)
	return string(b)
}

// TestSettingsTravelWithTheTask: a background worker started by a submit
// with one HANDOFF_EXEC_COMMAND runs a later task, submitted from another
// process with another command, with that task's command.
func TestSettingsTravelWithTheTask(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		e.autostart()
		marks := t.TempDir()
		e.vars = append(e.vars, "MARKS="+marks, "HANDOFF_EXEC_ENV=MARKS")
		command := func(name string) string {
			return `HANDOFF_EXEC_COMMAND=echo ` + name + ` > "$MARKS/$HANDOFF_TASK_ID"
` + goodTests
		}

		a := e.run([]string{command("A")}, "submit", "--module", "calc.go", "--agent", "exec", "--runs", "1")
		require.Equal(t, 0, a.code, a.stderr)
		require.Contains(t, a.stderr, "started a background worker")
		idA := strings.TrimSpace(a.stdout)
		require.Equal(t, true, e.waitResult(idA)["success"])

		b := e.run([]string{command("B")}, "submit", "--module", "calc.go", "--agent", "exec", "--runs", "1")
		require.Equal(t, 0, b.code, b.stderr)
		require.NotContains(t, b.stderr, "started", "the live worker holds the same secrets: no second worker")
		idB := strings.TrimSpace(b.stdout)
		res := e.waitResult(idB)
		require.Equal(t, true, res["success"])

		require.Equal(t, "A\n", marker(t, marks, idA))
		require.Equal(t, "B\n", marker(t, marks, idB), "the second task ran the command it was submitted with")
		require.Equal(t, "submitter", res["agent"].(map[string]any)["secrets"])
	})
}

// TestSecretsNeverCrossSubmitters: a background worker started with one
// value of a secret never runs a task submitted with another: it gives the
// task back, and the next submit from that environment starts a worker that
// holds it. No value reaches the database or handoff's files.
func TestSecretsNeverCrossSubmitters(t *testing.T) {
	t.Parallel()
	const alpha, bravo = "alpha-5ecret-9f1c", "bravo-5ecret-27d4"
	each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		e.autostart()
		marks := t.TempDir()
		e.vars = append(e.vars, "MARKS="+marks, "HANDOFF_EXEC_ENV=MY_KEY,MARKS",
			`HANDOFF_EXEC_COMMAND=printf %s "$MY_KEY" > "$MARKS/$HANDOFF_TASK_ID"
`+goodTests)
		submit := func(key string, extra ...string) result {
			r := e.run([]string{"MY_KEY=" + key}, append([]string{"submit", "--module", "calc.go", "--agent", "exec", "--runs", "1"}, extra...)...)
			require.Equal(t, 0, r.code, r.stderr)
			return r
		}

		first := submit(alpha)
		require.Contains(t, first.stderr, "started a background worker")
		id1 := strings.TrimSpace(first.stdout)
		require.Equal(t, true, e.waitResult(id1)["success"])
		require.Equal(t, alpha, marker(t, marks, id1))

		// Only the alpha worker is alive: it must give the bravo task back.
		second := submit(bravo, "--no-worker")
		id2 := strings.TrimSpace(second.stdout)
		st := e.pollStatus(id2, 2*time.Minute, func(st map[string]any) bool {
			require.NotContains(t, []any{"COMPLETED", "FAILED"}, st["status"], "the alpha worker ran the bravo task")
			s, _ := st["last_error"].(string)
			return strings.Contains(s, "MY_KEY")
		})
		require.Contains(t, st["last_error"], "auto-started worker")
		require.NotContains(t, st["last_error"], bravo)

		third := submit(bravo)
		require.Contains(t, third.stderr, "holds other values of the agent's secrets")
		require.Contains(t, third.stderr, "MY_KEY")
		require.Contains(t, third.stderr, "started one with this environment")
		id3 := strings.TrimSpace(third.stdout)
		for _, id := range []string{id2, id3} {
			res := e.waitResult(id)
			require.Equal(t, true, res["success"])
			require.Equal(t, bravo, marker(t, marks, id), "task %s ran with another submitter's secret", id)
			require.Equal(t, "submitter", res["agent"].(map[string]any)["secrets"])
			require.Equal(t, 1.0, res["attempts"], "giving a task back uses up no attempt")
		}

		requireNowhere(t, e, dbURL, alpha, bravo)
	})
}

// TestExplicitWorkerUsesItsOwnSecrets: `handoff worker` runs a task with its
// own secrets, and the result says so.
func TestExplicitWorkerUsesItsOwnSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	marks := t.TempDir()
	e.vars = append(e.vars, "MARKS="+marks, "HANDOFF_EXEC_ENV=MY_KEY,MARKS",
		`HANDOFF_EXEC_COMMAND=printf %s "$MY_KEY" > "$MARKS/$HANDOFF_TASK_ID"
`+goodTests)
	e.worker("MY_KEY=worker-key")
	same := e.run([]string{"MY_KEY=worker-key"}, "submit", "--module", "calc.go", "--agent", "exec", "--runs", "1")
	require.Equal(t, 0, same.code, same.stderr)
	other := e.run([]string{"MY_KEY=submitter-key"}, "submit", "--module", "calc.go", "--agent", "exec", "--runs", "1")
	require.Equal(t, 0, other.code, other.stderr)

	res := e.waitResult(strings.TrimSpace(same.stdout))
	require.Equal(t, "submitter", res["agent"].(map[string]any)["secrets"])
	id := strings.TrimSpace(other.stdout)
	res = e.waitResult(id)
	require.Equal(t, "worker", res["agent"].(map[string]any)["secrets"])
	require.Equal(t, "worker-key", marker(t, marks, id))
}

// requireNowhere fails t when a secret value is in the database or in any
// file handoff keeps in the workspace (logs, cards, SQLite and its WAL).
func requireNowhere(t *testing.T, e *env, dbURL string, secrets ...string) {
	t.Helper()
	var texts []string
	err := filepath.WalkDir(filepath.Join(e.ws, ".handoff"), func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a journal or lock file that went while we walked
		}
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		texts = append(texts, p+"\x00"+string(b))
		return err
	})
	require.NoError(t, err)
	if dbURL != "" {
		db, err := sql.Open("pgx", dbURL)
		require.NoError(t, err)
		defer db.Close()
		for _, table := range []string{"handoff_task", "handoff_task_state", "river_job"} {
			rows, err := db.Query("SELECT CAST(t AS TEXT) FROM " + table + " t")
			require.NoError(t, err)
			n := 0
			for rows.Next() {
				var s string
				require.NoError(t, rows.Scan(&s))
				texts = append(texts, table+"\x00"+s)
				n++
			}
			require.NoError(t, rows.Err())
			rows.Close()
			if table == "handoff_task" {
				require.Equal(t, 3, n, "the rows checked are the test's")
			}
		}
	}
	for _, text := range texts {
		where, body, _ := strings.Cut(text, "\x00")
		for _, s := range secrets {
			require.NotContains(t, body, s, "a secret value is in %s", where)
		}
	}
}

// TestAutostartCardIsNotForUsers: the hidden flag of background workers
// refuses a file that is not the card it inherited, and leaves it alone.
func TestAutostartCardIsNotForUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	precious := filepath.Join(t.TempDir(), "worker-precious.json")
	write(t, precious, "{}")
	r := e.run(nil, "worker", "--autostart-card", precious)
	require.Equal(t, 2, r.code, r.stderr)
	require.Contains(t, r.stderr, "without it")
	require.FileExists(t, precious)
}
