package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// binary is the handoff command built once for all tests: they run it as
// real, separate processes.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "handoff-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "handoff")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		panic(fmt.Sprintf("building handoff: %v\n%s", err, out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goodTests is an exec agent writing tests that cover all of the fixture.
const goodTests = `cat > "$HANDOFF_OUTPUT_PATH" <<'GO'
` + agenttest.GoModuleTests + `GO`

type env struct {
	t    *testing.T
	ws   string
	vars []string
}

// newEnv lays out a git workspace holding the calc module and an
// environment whose database is dbURL ("" means the workspace default).
func newEnv(t *testing.T, dbURL string) *env {
	t.Helper()
	ws := testenv.GitRepo(t, map[string]string{"go.mod": "module example.com/calc\n\ngo 1.22\n", "calc.go": agenttest.GoModule})
	e := &env{t: t, ws: ws, vars: []string{
		"HANDOFF_NO_AUTOSTART=1", "HANDOFF_HEARTBEAT_INTERVAL=100ms", "HANDOFF_HEARTBEAT_TIMEOUT=2s",
		"HANDOFF_RETRY_BASE=100ms", "HANDOFF_EXEC_COMMAND=" + goodTests,
	}}
	if dbURL != "" {
		e.vars = append(e.vars, "HANDOFF_DATABASE_URL="+dbURL)
	}
	return e
}

func write(t *testing.T, p, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the handoff binary in the workspace and waits for it.
func (e *env) run(extra []string, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = e.ws
	cmd.Env = append(append(os.Environ(), e.vars...), extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(e.t, err)
	}
	return result{out.String(), errb.String(), code}
}

// worker starts `handoff worker` as its own process; it is stopped with
// SIGTERM at the end of the test.
func (e *env) worker(extra ...string) *exec.Cmd {
	e.t.Helper()
	return e.workerVia([]string{binary, "worker"}, e.ws, extra...)
}

// workerVia starts the worker with argv (a wrapper that ends by running
// the worker) in dir.
func (e *env) workerVia(argv []string, dir string, extra ...string) *exec.Cmd {
	e.t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), e.vars...), extra...)
	var logb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logb, &logb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(e.t, cmd.Start())
	e.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		if e.t.Failed() {
			e.t.Logf("worker log:\n%s", logb.String())
		}
	})
	return cmd
}

func (e *env) status(id string) map[string]any {
	e.t.Helper()
	r := e.run(nil, "status", id, "--json")
	require.Equal(e.t, 0, r.code, r.stderr)
	var st map[string]any
	require.NoError(e.t, json.Unmarshal([]byte(r.stdout), &st))
	return st
}

// pollStatus polls the task's status until cond holds, with a deadline.
func (e *env) pollStatus(id string, within time.Duration, cond func(map[string]any) bool) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := e.status(id)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("task %s: condition not met within %s; last status %v", id, within, st)
		}
		time.Sleep(50 * time.Millisecond) // polling interval with a deadline, not a wait for an event
	}
}

// databases: SQLite always; PostgreSQL (a fresh schema) when configured.
func databases(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "" },
		"postgres": func(t *testing.T) string { return testenv.PostgresSchema(t) },
	}
}

func each(t *testing.T, f func(t *testing.T, dbURL string)) {
	for name, mk := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, mk(t))
		})
	}
}

// TestSeparateProcesses: one process submits, another works, a third asks
// for status and a fourth waits for the result.
func TestSeparateProcesses(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		sub := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec", "--coverage", "90")
		require.Equal(t, 0, sub.code, sub.stderr)
		id := strings.TrimSpace(sub.stdout)
		require.NotEmpty(t, id)
		require.Equal(t, "QUEUED", e.status(id)["status"], "no worker runs yet")

		e.worker()
		w := e.run(nil, "wait", id, "--wait-timeout", "3m", "--poll-interval", "100ms", "--json")
		require.Equal(t, 0, w.code, w.stdout+w.stderr)
		var res map[string]any
		require.NoError(t, json.Unmarshal([]byte(w.stdout), &res))
		require.Equal(t, "COMPLETED", res["status"])
		require.Equal(t, true, res["success"])
		require.Equal(t, 100.0, res["coverage"].(map[string]any)["after"])
		require.ElementsMatch(t, []any{"TestAdd", "TestAbs", "TestDiv"}, res["tests"].(map[string]any)["kept"])
		require.FileExists(t, filepath.Join(e.ws, "calc_test.go"), "kept tests land in the workspace")

		st := e.status(id)
		require.Equal(t, "COMPLETED", st["status"])
		require.NotEmpty(t, st["started_at"])
		require.NotEmpty(t, st["completed_at"])

		list := e.run(nil, "list", "--json")
		require.Equal(t, 0, list.code, list.stderr)
		require.Contains(t, list.stdout, id)
	})
}

// TestWorkerKilledMidTask: a worker killed with SIGKILL while its agent runs
// leaves the task RUNNING; a second worker rescues it and finishes it.
func TestWorkerKilledMidTask(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		marks := t.TempDir()
		// First attempt: note the attempt and hang. Later attempts: write tests.
		script := `if [ ! -e "$MARKS/first" ]; then touch "$MARKS/first"; sleep 300; fi
` + goodTests
		e.vars = append(e.vars, "MARKS="+marks, "HANDOFF_EXEC_ENV=MARKS", "HANDOFF_EXEC_COMMAND="+script)
		sub := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec")
		require.Equal(t, 0, sub.code, sub.stderr)
		id := strings.TrimSpace(sub.stdout)

		first := e.worker()
		e.pollStatus(id, time.Minute, func(st map[string]any) bool {
			_, err := os.Stat(filepath.Join(marks, "first"))
			return st["status"] == "RUNNING" && err == nil
		})
		require.NoError(t, syscall.Kill(-first.Process.Pid, syscall.SIGKILL))

		e.worker()
		w := e.run(nil, "wait", id, "--wait-timeout", "3m", "--poll-interval", "100ms", "--json")
		require.Equal(t, 0, w.code, w.stdout+w.stderr)
		var res map[string]any
		require.NoError(t, json.Unmarshal([]byte(w.stdout), &res))
		require.Equal(t, 2.0, res["attempts"], "the rescued task ran again as attempt 2")
		require.Equal(t, true, res["success"])
	})
}

// TestCancelKillsRunningAgent: cancel from another process stops the agent's
// whole process group.
func TestCancelKillsRunningAgent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	marks := t.TempDir()
	// The child is found by a marker in its argv: $! inside the agent's
	// PID namespace is not the host's PID.
	marker := fmt.Sprintf("handoff-cancel-child-%d", os.Getpid())
	script := `sh -c 'sleep 300; :' ` + marker + ` & echo started > "$MARKS/child"; wait`
	e.vars = append(e.vars, "MARKS="+marks, "HANDOFF_EXEC_ENV=MARKS", "HANDOFF_EXEC_COMMAND="+script)
	sub := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec")
	require.Equal(t, 0, sub.code, sub.stderr)
	id := strings.TrimSpace(sub.stdout)
	e.worker()
	e.pollStatus(id, time.Minute, func(map[string]any) bool {
		b, err := os.ReadFile(filepath.Join(marks, "child"))
		return err == nil && len(bytes.TrimSpace(b)) > 0
	})
	require.NotEmpty(t, testenv.Processes(marker))
	c := e.run(nil, "cancel", id, "--wait", "2m") // the worker is another process; 2m is for a loaded machine
	require.Equal(t, 0, c.code, c.stderr)
	require.Contains(t, c.stderr, "cancel requested")
	require.Equal(t, id+" CANCELLED\n", c.stdout, "cancel prints the final state")
	st := e.pollStatus(id, 30*time.Second, func(st map[string]any) bool { return st["status"] == "CANCELLED" })
	require.Equal(t, "CANCELLED", st["status"])
	again := e.run(nil, "cancel", id, "--json")
	require.Equal(t, 0, again.code, again.stderr)
	require.Contains(t, again.stdout, `"status": "CANCELLED"`)
	require.Contains(t, again.stdout, `"cancel_requested": false`, "a task already ended is not cancelled again")
	testenv.NoProcesses(t, marker, 10*time.Second)
	w := e.run(nil, "wait", id, "--json")
	require.Equal(t, 1, w.code, "a cancelled task is not a success")
}

// TestPostgresCancelAndWaitWithoutPolling: on PostgreSQL a worker hears
// of new tasks and of cancels by notification (its log says nothing of
// poll-only mode), so a cancel from another process stops the agent at once
// although the worker's heartbeat is ten minutes away, and a wait polling
// once a minute returns as soon as the task is CANCELLED.
func TestPostgresCancelAndWaitWithoutPolling(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testenv.PostgresSchema(t))
	marks := t.TempDir()
	e.vars = append(e.vars, "MARKS="+marks, "HANDOFF_EXEC_ENV=MARKS", "HANDOFF_HEARTBEAT_INTERVAL=10m",
		"HANDOFF_HEARTBEAT_TIMEOUT=1h", `HANDOFF_EXEC_COMMAND=touch "$MARKS/started"; exec sleep 300`)
	worker := exec.Command(binary, "worker")
	worker.Dir = e.ws
	worker.Env = append(os.Environ(), e.vars...)
	var log testenv.Buffer
	worker.Stdout, worker.Stderr = &log, &log
	require.NoError(t, worker.Start())
	t.Cleanup(func() {
		_ = worker.Process.Signal(syscall.SIGTERM)
		_ = worker.Wait()
	})
	sub := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec")
	require.Equal(t, 0, sub.code, sub.stderr)
	id := strings.TrimSpace(sub.stdout)
	e.pollStatus(id, time.Minute, func(map[string]any) bool {
		_, err := os.Stat(filepath.Join(marks, "started"))
		return err == nil
	})

	wait := exec.Command(binary, "wait", id, "--poll-interval", "1m", "--wait-timeout", "5m", "--json")
	wait.Dir = e.ws
	wait.Env = append(os.Environ(), e.vars...)
	var waitOut bytes.Buffer
	wait.Stdout = &waitOut
	require.NoError(t, wait.Start())
	waited := make(chan error, 1)
	go func() { waited <- wait.Wait() }()

	asked := time.Now()
	c := e.run(nil, "cancel", id, "--wait", "2m")
	require.Equal(t, 0, c.code, c.stderr)
	require.Equal(t, id+" CANCELLED\n", c.stdout)
	// Process start-up on a loaded machine takes seconds at worst; the
	// heartbeat that would tell the worker otherwise is 10 minutes away.
	require.Less(t, time.Since(asked), time.Minute, "the cancel reached the worker by notification")
	select {
	case err := <-waited:
		require.Error(t, err, "a cancelled task is not a success")
		require.Contains(t, waitOut.String(), `"status": "CANCELLED"`)
	case <-time.After(30 * time.Second): // generous for a loaded machine, and half the wait's poll interval
		t.Fatalf("wait did not return within 30 s of the cancel (it polls once a minute)")
	}
	require.NotContains(t, log.String(), "poll only mode", "the worker listens for notifications")
	require.Contains(t, log.String(), "River client started")
}

func TestWaitTimeoutLeavesTaskRunning(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	marks := t.TempDir()
	e.vars = append(e.vars, "MARKS="+marks, "HANDOFF_EXEC_ENV=MARKS",
		`HANDOFF_EXEC_COMMAND=touch "$MARKS/started"; while [ ! -e "$MARKS/go" ]; do sleep 0.05; done; `+goodTests)
	sub := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec")
	require.Equal(t, 0, sub.code, sub.stderr)
	id := strings.TrimSpace(sub.stdout)
	e.worker()
	e.pollStatus(id, time.Minute, func(st map[string]any) bool { return st["status"] == "RUNNING" })

	w := e.run(nil, "wait", id, "--wait-timeout", "300ms", "--poll-interval", "50ms")
	require.Equal(t, 124, w.code, w.stderr)
	require.Contains(t, w.stderr, "wait timed out after 300ms; task "+id+" is still RUNNING")
	require.Equal(t, "RUNNING", e.status(id)["status"], "a wait timeout leaves the task running")

	write(t, filepath.Join(marks, "go"), "")
	w = e.run(nil, "wait", id, "--wait-timeout", "3m", "--poll-interval", "100ms")
	require.Equal(t, 0, w.code, w.stdout+w.stderr)
}

// A wait on a task no worker will take says so, instead of sitting silent
// until its timeout (CI once waited three minutes on a worker that had died
// at start).
func TestWaitSaysWhenNoWorkerIsAlive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	sub := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec")
	require.Equal(t, 0, sub.code, sub.stderr)
	id := strings.TrimSpace(sub.stdout)

	w := e.run(nil, "wait", id, "--wait-timeout", "5s", "--poll-interval", "100ms")
	require.Equal(t, 124, w.code, w.stderr)
	require.Contains(t, w.stderr, "is QUEUED and no worker is alive")
	require.Contains(t, w.stderr, "handoff worker")
	require.Equal(t, 1, strings.Count(w.stderr, "no worker is alive"), "said once")
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	a := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec", "--idempotency-key", "k1")
	require.Equal(t, 0, a.code, a.stderr)
	b := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec", "--idempotency-key", "k1")
	require.Equal(t, 0, b.code, b.stderr)
	require.Equal(t, a.stdout, b.stdout, "same key and same request give the same task")
	c := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec", "--idempotency-key", "k1", "--coverage", "50")
	require.Equal(t, 2, c.code)
	require.Contains(t, c.stderr, "idempotency key")
	require.Contains(t, c.stderr, strings.TrimSpace(a.stdout))
}

// TestBadInput: every rejection exits 2 with a message naming the problem,
// and creates no task.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	outside := t.TempDir()
	write(t, filepath.Join(outside, "x.go"), "package x\n")
	require.NoError(t, os.Symlink(outside, filepath.Join(e.ws, "escape")))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no module", []string{"submit"}, "--module is required"},
		{"missing module", []string{"submit", "--module", "nope.go"}, "does not exist"},
		{"dotdot", []string{"submit", "--module", "../x.go"}, "--module: ../x.go"},
		{"absolute elsewhere", []string{"submit", "--module", filepath.Join(outside, "x.go")}, "outside"},
		{"symlink escape", []string{"submit", "--module", "escape/x.go"}, "escape"},
		{"output outside", []string{"submit", "--module", "calc.go", "--output", "../calc_test.go"}, "output"},
		{"output not a test file", []string{"submit", "--module", "calc.go", "--output", "calc2.go"}, "not a go test file"},
		{"threshold", []string{"submit", "--module", "calc.go", "--coverage", "150"}, "--coverage: coverage 150 is outside 0..100"},
		{"unknown agent", []string{"submit", "--module", "calc.go", "--agent", "gpt-genie"}, `unknown agent "gpt-genie"`},
		{"bad priority", []string{"submit", "--module", "calc.go", "--priority", "urgent"}, `--priority: "urgent" is not one of`},
		{"bad duration", []string{"submit", "--module", "calc.go", "--timeout", "soon"}, "not a duration"},
		{"unknown task, no database yet", []string{"status", "no-such-task"}, "no handoff database at"},
		{"unknown task wait, no database yet", []string{"wait", "no-such-task"}, "no handoff database at"},
		{"unknown flag", []string{"submit", "--modul", "calc.go"}, "unknown flag"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"misspelt command", []string{"stauts", "x"}, "did you mean status?"},
		{"unknown global flag", []string{"--frob", "list"}, "unknown flag"},
		{"missing argument", []string{"status"}, "one task ID"},
	}
	for _, c := range cases {
		r := e.run(nil, c.args...)
		require.Equal(t, 2, r.code, "%s: %s", c.name, r.stderr)
		require.Contains(t, r.stderr, c.want, c.name)
	}
	write(t, filepath.Join(e.ws, "tool.py"), "def f():\n    return 1\n")
	py := e.run(nil, "submit", "--module", "tool.py")
	require.Equal(t, 2, py.code)
	require.Contains(t, py.stderr, "no default agent serves python modules")
	require.Contains(t, py.stderr, "exec, llm, openhands")
	exec := e.run([]string{"HANDOFF_EXEC_COMMAND="}, "submit", "--module", "calc.go", "--agent", "exec")
	require.Equal(t, 2, exec.code)
	require.Contains(t, exec.stderr, "HANDOFF_EXEC_COMMAND")

	list := e.run(nil, "list", "--json")
	require.Equal(t, 0, list.code, list.stderr)
	require.JSONEq(t, "[]", list.stdout, "no rejected submit may create a task")

	notDB := filepath.Join(t.TempDir(), "notes.db")
	write(t, notDB, "this is not a database")
	r := e.run(nil, "list", "--db", notDB)
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "not a SQLite database")
	require.Equal(t, "this is not a database", string(must(os.ReadFile(notDB))), "a foreign file is left untouched")

	foreign := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", foreign)
	require.NoError(t, err)
	_, err = db.Exec("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
	require.NoError(t, err)
	db.Close()
	r = e.run(nil, "list", "--db", foreign)
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "holds other tables (customers)")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestDefaultAgentIsBuiltinQuietly: with no agent named, a Go module goes
// to builtin, the documented default, without a notice saying so.
func TestDefaultAgentIsBuiltinQuietly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	r := e.run(nil, "submit", "--module", "calc.go")
	require.Equal(t, 0, r.code, r.stderr)
	require.Empty(t, r.stderr, "the documented default needs no notice")
	require.Equal(t, "builtin", e.status(strings.TrimSpace(r.stdout))["agent"])
}

// TestWorkerShutdownRequeues: SIGTERM stops the worker gracefully; a task it
// could not finish within --grace goes back to the queue without using up an
// attempt, and the next worker finishes it.
func TestWorkerShutdownRequeues(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	marks := t.TempDir()
	script := `if [ ! -e "$MARKS/first" ]; then touch "$MARKS/first"; sleep 300; fi
` + goodTests
	e.vars = append(e.vars, "MARKS="+marks, "HANDOFF_EXEC_ENV=MARKS", "HANDOFF_EXEC_COMMAND="+script)
	sub := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec")
	require.Equal(t, 0, sub.code, sub.stderr)
	id := strings.TrimSpace(sub.stdout)

	first := exec.Command(binary, "worker", "--grace", "200ms")
	first.Dir = e.ws
	first.Env = append(os.Environ(), e.vars...)
	require.NoError(t, first.Start())
	e.pollStatus(id, time.Minute, func(st map[string]any) bool {
		_, err := os.Stat(filepath.Join(marks, "first"))
		return st["status"] == "RUNNING" && err == nil
	})
	require.NoError(t, first.Process.Signal(syscall.SIGTERM))
	require.NoError(t, first.Wait(), "a worker stopped by SIGTERM exits cleanly")
	st := e.status(id)
	require.Equal(t, "QUEUED", st["status"])
	require.Contains(t, st["last_error"], "worker stopped mid-task")

	e.worker()
	w := e.run(nil, "wait", id, "--wait-timeout", "3m", "--poll-interval", "100ms", "--json")
	require.Equal(t, 0, w.code, w.stdout+w.stderr)
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(w.stdout), &res))
	require.Equal(t, true, res["success"])
	require.Equal(t, 1.0, res["attempts"], "a shutdown does not use up an attempt")
}
