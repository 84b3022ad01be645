package exec_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/agent/exec"
	"github.com/handoff-dev/handoff/internal/sandbox"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// writeTests is a stand-in coding agent: a shell script that writes a test
// file at the output path, the way a real CLI agent would.
const writeTests = `mkdir -p "$(dirname "$HANDOFF_OUTPUT_PATH")"
case "$HANDOFF_LANGUAGE" in
go) printf 'package calc\n\nimport "testing"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal("bad")\n\t}\n}\n' > "$HANDOFF_OUTPUT_PATH" ;;
python) printf 'from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n' > "$HANDOFF_OUTPUT_PATH" ;;
esac`

func TestConformance(t *testing.T) {
	t.Parallel()
	agenttest.Run(t, agenttest.Harness{
		New:  func(t *testing.T) agent.Agent { return exec.New(exec.Config{Command: writeTests}) },
		Slow: func(t *testing.T) agent.Agent { return exec.New(exec.Config{Command: "sleep 300"}) },
	})
}

func TestConformanceGoOnly(t *testing.T) {
	t.Parallel()
	agenttest.Run(t, agenttest.Harness{
		New: func(t *testing.T) agent.Agent {
			return exec.New(exec.Config{Command: writeTests, Languages: []string{"go"}})
		},
	})
}

func TestTaskVariablesAndPrompt(t *testing.T) {
	t.Parallel()
	fx := agenttest.NewFixture(t, "go")
	fx.Task.Prompt = "write tests please"
	fx.Task.Feedback = &agent.Feedback{Text: "TestAdd was dropped"}
	cmd := `{ echo "id=$HANDOFF_TASK_ID module=$HANDOFF_MODULE_PATH output=$HANDOFF_OUTPUT_PATH cov=$HANDOFF_COVERAGE_THRESHOLD"
cat; echo; cat "$HANDOFF_PROMPT_FILE"; echo; cat "$HANDOFF_FEEDBACK_FILE"; } > seen_test.go`
	_, err := exec.New(exec.Config{Command: cmd}).Run(context.Background(), fx.Task)
	require.NoError(t, err)
	seen, err := os.ReadFile(filepath.Join(fx.Task.Dir, "seen_test.go"))
	require.NoError(t, err)
	s := string(seen)
	require.Contains(t, s, "id=conformance module=calc.go output=calc_test.go cov=80")
	require.Equal(t, 2, strings.Count(s, "write tests please"), "prompt on stdin and in the prompt file")
	require.Contains(t, s, "TestAdd was dropped")
	require.NoFileExists(t, filepath.Join(fx.Task.Dir, "prompt.md"), "the prompt file must live outside the task directory")
}

func TestSecretsStayOutUnlessNamed(t *testing.T) {
	t.Setenv("HANDOFF_TEST_SECRET", "s3cret-value")
	t.Setenv("HANDOFF_TEST_PASSED", "passed-value")
	fx := agenttest.NewFixture(t, "go")
	cmd := `env > env_test.go`
	_, err := exec.New(exec.Config{Command: cmd, PassEnv: []string{"HANDOFF_TEST_PASSED"}}).Run(context.Background(), fx.Task)
	require.NoError(t, err)
	env, err := os.ReadFile(filepath.Join(fx.Task.Dir, "env_test.go"))
	require.NoError(t, err)
	require.NotContains(t, string(env), "s3cret-value")
	require.Contains(t, string(env), "HANDOFF_TEST_PASSED=passed-value")
}

func TestExitStatus(t *testing.T) {
	t.Parallel()
	run := func(cmd string) (*agent.Report, error) {
		fx := agenttest.NewFixture(t, "go")
		return exec.New(exec.Config{Command: cmd}).Run(context.Background(), fx.Task)
	}
	_, err := run("exit 3")
	require.ErrorContains(t, err, "exited with status 3 and changed nothing")
	require.False(t, agent.IsTransient(err))

	_, err = run("exit 75")
	require.True(t, agent.IsTransient(err), "EX_TEMPFAIL asks for a retry")

	rep, err := run(`echo 'package calc' > x_test.go; exit 1`)
	require.NoError(t, err, "a failing command that wrote files is judged by verification")
	require.Equal(t, 1, rep.Details["exit_code"])

	rep, err = run("true")
	require.NoError(t, err, "exit 0 writing nothing is not an error here; verification finds no test")
	require.Equal(t, 0, rep.Details["exit_code"])
}

func TestCheck(t *testing.T) {
	t.Parallel()
	require.ErrorContains(t, exec.New(exec.Config{}).Check(), "HANDOFF_EXEC_COMMAND")
	require.NoError(t, exec.New(exec.Config{Command: "true"}).Check())
}

func TestLogCapturesOutput(t *testing.T) {
	t.Parallel()
	fx := agenttest.NewFixture(t, "go")
	var log bytes.Buffer
	fx.Task.Log = &log
	_, err := exec.New(exec.Config{Command: "echo to-stdout; echo to-stderr >&2; echo 'package calc' > a_test.go"}).Run(context.Background(), fx.Task)
	require.NoError(t, err)
	require.Contains(t, log.String(), "to-stdout")
	require.Contains(t, log.String(), "to-stderr")
}

// Whatever ends the agent's run (its exit, the task's deadline, a cancel),
// nothing it started outlives it: not even a child in a session of its own
// or a double-forked one.
func TestNothingOutlivesTheRun(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"exit", "deadline", "cancel"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			testenv.PIDNamespaces(t)
			marker := fmt.Sprintf("handoff-exec-tree-%d-%s", os.Getpid(), end)
			fx := agenttest.NewFixture(t, "go")
			ready := filepath.Join(t.TempDir(), "ready")
			up := t.TempDir()
			cmd := fmt.Sprintf(`setsid sh -c 'echo > %[3]s/setsid; sleep 300; :' %[1]s-setsid </dev/null >/dev/null 2>&1 &
(setsid sh -c 'echo > %[3]s/double; sleep 300; :' %[1]s-double </dev/null >/dev/null 2>&1 &)
until [ -e %[3]s/setsid ] && [ -e %[3]s/double ]; do sleep 0.01; done
echo > %[2]s
echo 'package calc' > a_test.go
`, marker, ready, up)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			switch end {
			case "deadline":
				fx.Task.Deadline = time.Now().Add(2 * time.Second)
				cmd += "sleep 300"
			case "cancel":
				cmd += "sleep 300"
				go func() {
					for ctx.Err() == nil {
						if _, err := os.Stat(ready); err == nil {
							cancel()
							return
						}
						time.Sleep(10 * time.Millisecond) // polling for the agent to start
					}
				}()
			}
			rep, err := exec.New(exec.Config{Command: cmd}).Run(ctx, fx.Task)
			testenv.NoProcesses(t, marker, 5*time.Second)
			switch end {
			case "exit":
				require.NoError(t, err)
				require.Equal(t, sandbox.ContainmentPIDNamespace, rep.Details["containment"])
			case "deadline":
				require.ErrorIs(t, err, context.DeadlineExceeded)
			case "cancel":
				require.ErrorIs(t, err, context.Canceled)
			}
		})
	}
}
