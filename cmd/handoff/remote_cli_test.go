package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// TestCLIRemoteMode: with HANDOFF_SERVER and HANDOFF_TOKEN, the CLI in a
// workspace the server never reads submits through a real `handoff serve`,
// its wait times out (124) with the task still queued, a worker on the
// server's database runs it, and wait writes the kept tests into the
// client's workspace; list, cancel and the refusals say what they do on the
// command line.
func TestCLIRemoteMode(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		token := e.token("ci", "submit,read,cancel")
		s := e.serve()

		// The client: another workspace, another state directory, no database.
		client := &env{t: t, ws: testenv.GitRepo(t, map[string]string{
			"go.mod": "module example.com/calc\n\ngo 1.22\n", "calc.go": agenttest.GoModule,
		}), vars: []string{"HANDOFF_SERVER=" + s.url, "HANDOFF_TOKEN=" + token, "HANDOFF_EXEC_COMMAND=" + goodTests}}

		r := client.run(nil, "submit", "--module", "calc.go", "--agent", "exec")
		require.Equal(t, 0, r.code, r.stderr)
		id := strings.TrimSpace(r.stdout)
		require.NoFileExists(t, filepath.Join(client.ws, ".handoff", "handoff.db"), "remote mode opens no database")
		require.FileExists(t, filepath.Join(client.ws, ".handoff", "remote", id+".json"))

		st := client.status(id)
		require.Equal(t, "QUEUED", st["status"])
		require.Equal(t, client.ws, st["workspace"])

		r = client.run(nil, "wait", id, "--wait-timeout", "1s", "--quiet")
		require.Equal(t, 124, r.code, r.stderr)
		require.Contains(t, r.stderr, "still QUEUED")

		r = client.run(nil, "list", "--json")
		require.Equal(t, 0, r.code, r.stderr)
		var list []map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
		require.Len(t, list, 1)

		r = client.run(nil, "workers")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stderr, "no live worker for the server "+s.url)

		e.worker()
		r = client.run(nil, "wait", id, "--json", "--quiet")
		require.Equal(t, 0, r.code, r.stderr)
		var res map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
		apply := res["apply"].(map[string]any)
		require.Equal(t, "submitter", apply["where"], "%v", apply)
		require.Equal(t, true, apply["applied"])
		got, err := os.ReadFile(filepath.Join(client.ws, "calc_test.go"))
		require.NoError(t, err, "the kept tests are written in the client's workspace")
		require.Contains(t, string(got), "func Test")
		require.NoFileExists(t, filepath.Join(client.ws, ".handoff", "remote", id+".json"), "nothing left to apply")

		r = client.run(nil, "workers", "--json")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, `"languages"`, "the server's workers, listed through it")

		// The server knows it was applied: a second wait does not write again.
		r = client.run(nil, "wait", id, "--json", "--quiet")
		require.Equal(t, 0, r.code, r.stderr)

		r = client.run(nil, "cancel", id)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "already ended COMPLETED")

		// A running task's agent is stopped: its settings (a slow command)
		// travelled with it from this workspace.
		r = client.run([]string{"HANDOFF_EXEC_COMMAND=sleep 120"}, "submit", "--module", "calc.go", "--agent", "exec")
		require.Equal(t, 0, r.code, r.stderr)
		slow := strings.TrimSpace(r.stdout)
		client.pollStatus(slow, 30*time.Second, func(st map[string]any) bool { return st["status"] == "RUNNING" })
		r = client.run(nil, "cancel", slow, "--wait", "30s")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, slow+" CANCELLED")

		// Refusals.
		r = client.run([]string{"HANDOFF_TOKEN=hnd_wrong"}, "status", id)
		require.NotEqual(t, 0, r.code)
		require.Contains(t, r.stderr, "refused the token")
		r = client.run(nil, "status", "ffffffff")
		require.Equal(t, 2, r.code, r.stderr)
		require.Contains(t, r.stderr, "the server "+s.url)
		r = client.run(nil, "submit", "--module", "nothere.go")
		require.Equal(t, 2, r.code, r.stderr)
		require.Contains(t, r.stderr, "nothere.go does not exist")
		r = client.run(nil, "logs", id)
		require.Equal(t, 2, r.code, r.stderr)
		require.Contains(t, r.stderr, "stays on the worker")
	})
}

// TestCLIRemoteWaitSurvivesServerRestart: the server is killed while
// `handoff wait` holds a long poll; started again on the same address, it
// answers the retried wait, which gets the result and applies it.
func TestCLIRemoteWaitSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testenv.PostgresSchema(t))
	token := e.token("ci", "submit,read")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	first := e.serveAt(addr)

	client := &env{t: t, ws: testenv.GitRepo(t, map[string]string{
		"go.mod": "module example.com/calc\n\ngo 1.22\n", "calc.go": agenttest.GoModule,
	}), vars: []string{"HANDOFF_SERVER=" + first.url, "HANDOFF_TOKEN=" + token, "HANDOFF_EXEC_COMMAND=" + goodTests}}
	r := client.run(nil, "submit", "--module", "calc.go", "--agent", "exec")
	require.Equal(t, 0, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)

	wait := exec.Command(binary, "wait", id, "--json", "--quiet")
	wait.Dir, wait.Env = client.ws, append(os.Environ(), client.vars...)
	var out, errb bytes.Buffer
	wait.Stdout, wait.Stderr = &out, &errb
	require.NoError(t, wait.Start())
	// The wait is under way once its status reads reach the server.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(first.logged(), "path=/v1/tasks/"+id+" ") {
		require.True(t, time.Now().Before(deadline), "the wait never reached the server:\n%s", first.logged())
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	require.NoError(t, first.cmd.Process.Kill())
	_ = first.cmd.Wait()

	e.serveAt(addr)
	e.worker()
	done := make(chan error, 1)
	go func() { done <- wait.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "wait: %s", errb.String())
	case <-time.After(2 * time.Minute):
		_ = wait.Process.Kill()
		t.Fatalf("wait never returned:\n%s", errb.String())
	}
	require.Contains(t, out.String(), `"where": "submitter"`)
	require.FileExists(t, filepath.Join(client.ws, "calc_test.go"))
}

// TestCLIRemoteRun: `handoff run` with HANDOFF_SERVER sends the example
// pipeline's generate stage to a real server, whose worker runs the builtin
// agent from the database; the collect stage writes the kept tests into the
// client's scratch copy.
func TestCLIRemoteRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	token := e.token("ci", "submit,read,cancel")
	s := e.serve()
	e.worker("HANDOFF_WORK_DIR=" + t.TempDir())

	scratch := t.TempDir()
	out, err := exec.Command("cp", "-R", "../../examples/inventory", scratch).CombinedOutput()
	require.NoError(t, err, "%s", out)
	dir := filepath.Join(scratch, "inventory")
	cmd := exec.Command(binary, "run", filepath.Join(dir, "pipeline.yml"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HANDOFF_SERVER="+s.url, "HANDOFF_TOKEN="+token)
	got, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", got)
	require.Contains(t, string(got), "All stages succeeded")
	require.NoFileExists(t, filepath.Join(dir, ".handoff", "handoff.db"), "the run used the server, not a database")
	kept, err := filepath.Glob(filepath.Join(dir, "*", "*_test.go"))
	require.NoError(t, err)
	require.Len(t, kept, 5, "the kept tests of every module are written in the client's copy:\n%s", got)
}
