package openhands_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/agent/openhands/openhandstest"
)

// The tests below drive the real handoff binary (built from ./cmd/handoff)
// against the stand-in: generate through the command line, and a worker
// killed mid-conversation whose successor re-attaches.

// binDir holds the binary built for this test process; TestMain removes it.
var binDir = sync.OnceValues(func() (string, error) { return os.MkdirTemp("", "handoff-cli-test-") })

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := binDir(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

var handoffBinary = sync.OnceValues(func() (string, error) {
	dir, err := binDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "handoff")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/handoff")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{out: string(out), err: err}
	}
	return bin, nil
})

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "go build ./cmd/handoff: " + e.err.Error() + "\n" + e.out }

// cli is one handoff installation: a workspace, a database and the stand-in.
type cli struct {
	bin, ws, db string
	srv         *openhandstest.Server
	env         []string
}

func newCLI(t *testing.T, sc openhandstest.Scenario) *cli {
	t.Helper()
	bin, err := handoffBinary()
	require.NoError(t, err)
	ws := t.TempDir()
	writeTree(t, ws, map[string]string{"go.mod": "module example.com/calc\n\ngo 1.22\n", "calc.go": agenttest.GoModule})
	srv := openhandstest.NewServer(t, openhandstest.Options{APIKey: sessionKey, Scenario: sc})
	c := &cli{bin: bin, ws: ws, db: filepath.Join(t.TempDir(), "handoff.db"), srv: srv}
	c.env = append(os.Environ(),
		"HANDOFF_AGENT=openhands", "OPENHANDS_URL="+srv.URL, "OPENHANDS_API_KEY="+sessionKey,
		"LLM_API_KEY="+llmKey, "LLM_MODEL=test/model-a", "OPENHANDS_POLL_INTERVAL=20ms",
		"HANDOFF_HEARTBEAT_INTERVAL=100ms", "HANDOFF_HEARTBEAT_TIMEOUT=1s", "HANDOFF_RETRY_BASE=100ms",
		"HANDOFF_NO_AUTOSTART=1", "HANDOFF_DATABASE_URL=")
	return c
}

func (c *cli) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, append(args, "--db", c.db, "--workspace", c.ws)...)
	cmd.Dir, cmd.Env = c.ws, c.env
	return cmd
}

// worker starts a handoff worker that t kills at its end.
func (c *cli) worker(t *testing.T) *exec.Cmd {
	t.Helper()
	w := c.command(context.Background(), "worker")
	var log bytes.Buffer
	w.Stdout, w.Stderr = &log, &log
	w.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, w.Start())
	t.Cleanup(func() {
		syscall.Kill(-w.Process.Pid, syscall.SIGKILL) //nolint:errcheck // may be gone already
		w.Wait()                                      //nolint:errcheck // killed
		if t.Failed() {
			t.Logf("worker log:\n%s", log.String())
		}
	})
	return w
}

// run is a finished handoff generate.
type run struct {
	stdout, stderr string
	err            error
}

// runGenerate runs handoff generate to its end.
func (c *cli) runGenerate() run {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := c.command(ctx, "generate", "--agent", "openhands", "--module", "calc.go", "--coverage", "80",
		"--runs", "1", "--json", "--no-worker")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return run{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// result checks a generate run and returns its JSON result. It skips t
// while handoff does not register the openhands agent.
func (r run) result(t *testing.T) map[string]any {
	t.Helper()
	if strings.Contains(r.stderr, `unknown agent "openhands"`) {
		t.Skip("handoff.DefaultAgents does not register the openhands agent yet")
	}
	require.NoError(t, r.err, "stderr:\n%s\nstdout:\n%s", r.stderr, r.stdout)
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res), r.stdout)
	require.NotContains(t, r.stdout+r.stderr, llmKey)
	require.NotContains(t, r.stdout+r.stderr, sessionKey)
	return res
}

func TestCLIGenerateWithOpenHands(t *testing.T) {
	t.Parallel()
	c := newCLI(t, openhandstest.Scenario{Files: map[string]string{"calc_test.go": agenttest.GoModuleTests}})
	c.worker(t)
	res := c.runGenerate().result(t)

	require.Equal(t, "COMPLETED", res["status"])
	require.Equal(t, true, res["success"])
	ag := res["agent"].(map[string]any)
	require.Equal(t, "openhands", ag["name"])
	require.Equal(t, "test/model-a", ag["model"])
	convs := c.srv.Conversations()
	require.Len(t, convs, 1)
	require.Equal(t, convs[0].ID, ag["details"].(map[string]any)["conversation_id"])
	got, err := os.ReadFile(filepath.Join(c.ws, "calc_test.go"))
	require.NoError(t, err)
	require.Equal(t, agenttest.GoModuleTests, string(got), "the verified tests were applied to the workspace")
}

func TestCLIKilledWorkerLeavesOneConversation(t *testing.T) {
	t.Parallel()
	c := newCLI(t, openhandstest.Scenario{Steps: 40, Files: map[string]string{"calc_test.go": agenttest.GoModuleTests}})
	first := c.worker(t)
	done := make(chan run, 1)
	go func() { done <- c.runGenerate() }()

	var early *run
	require.Eventually(t, func() bool {
		select {
		case r := <-done:
			early = &r
			return true
		default:
		}
		convs := c.srv.Conversations()
		return len(convs) == 1 && convs[0].Actions >= 3
	}, 2*time.Minute, 10*time.Millisecond, "the first worker's conversation never got going")
	if early != nil {
		early.result(t) // skips when openhands is not registered
		t.Fatalf("generate ended before the worker was killed: %s", early.stdout)
	}
	require.NoError(t, syscall.Kill(-first.Process.Pid, syscall.SIGKILL))

	c.worker(t)
	var r run
	select {
	case r = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("generate did not finish after the second worker started")
	}
	res := r.result(t)
	require.Equal(t, "COMPLETED", res["status"])
	require.Len(t, c.srv.Conversations(), 1, "the second worker re-attached instead of starting a second conversation")
	require.Equal(t, 1, c.srv.Creates())
	require.Equal(t, "finished", c.srv.Conversations()[0].Status)
}
