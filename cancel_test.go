package handoff_test

import (
	"context"
	"fmt"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/agent/builtin"
	agentexec "github.com/handoff-dev/handoff/agent/exec"
	"github.com/handoff-dev/handoff/agent/openhands"
	"github.com/handoff-dev/handoff/agent/openhands/openhandstest"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// slowGoTest is a test file whose verification lasts until it is cancelled.
const slowGoTest = `package calc

import (
	"testing"
	"time"
)

func TestAddSlowly(t *testing.T) {
	time.Sleep(300 * time.Second)
	if Add(1, 2) != 3 {
		t.Fatal("Add")
	}
}
`

// slowModule's function never returns (a loop, not a sleep: the builtin
// agent leaves functions that sleep alone).
const slowModule = `package slow

// Spin adds up forever.
func Spin(n int) int {
	for i := 0; i >= 0; i = (i + 1) % 1000 {
		n += i
	}
	return n
}
`

// gateModule is a plain function whose package holds an existing test
// that lasts until cancelled once a test file the task writes
// (cancel*_test.go) is there: the builtin agent leaves the package's other
// test files out of its own runs, and the baseline runs before any such
// file exists, so only handoff's verification of the agent's tests waits.
const gateModule = `package gate

// Twice doubles n.
func Twice(n int) int { return 2 * n }
`

const gateTest = `package gate

import (
	"path/filepath"
	"testing"
	"time"
)

func TestWaitWhileVerifying(t *testing.T) {
	if m, _ := filepath.Glob("cancel*_test.go"); len(m) > 0 {
		time.Sleep(300 * time.Second)
	}
}
`

// execScript sleeps as the agent (model "sleep") or writes a test whose
// verification never ends (model "slow-test").
const execScript = `if [ "$HANDOFF_MODEL" = slow-test ]; then cat > "$HANDOFF_OUTPUT_PATH" <<'EOF'
` + slowGoTest + `EOF
else exec sleep 300; fi`

// cancelCase is one cancel: which agent, the phase to cancel in, and
// whether the cancel comes from the worker's own client or another one.
type cancelCase struct {
	agent, model, module string
	phase                string // "agent" or "verification"
	fromOther            bool
}

// TestCancelAlwaysEndsCancelled cancels running tasks of every agent (exec,
// builtin, the OpenHands stand-in), during the agent's work and during
// verification, from the worker's client and from another client, on SQLite
// and PostgreSQL: 20 cancels, all must end CANCELLED and say who cancelled.
func TestCancelAlwaysEndsCancelled(t *testing.T) {
	t.Parallel()
	cases := []cancelCase{
		{agent: "exec", model: "sleep", module: "calc.go", phase: "agent"},
		{agent: "exec", model: "sleep", module: "calc.go", phase: "agent", fromOther: true},
		{agent: "exec", model: "slow-test", module: "calc.go", phase: "verification"},
		{agent: "exec", model: "slow-test", module: "calc.go", phase: "verification", fromOther: true},
		// slow.Spin never returns: the builtin agent's probe of it keeps
		// the agent working until the cancel.
		{agent: "builtin", module: "slow/slow.go", phase: "agent"},
		{agent: "builtin", module: "slow/slow.go", phase: "agent", fromOther: true},
		// gate's existing test waits once the agent's file is there.
		{agent: "builtin", module: "gate/gate.go", phase: "verification"},
		{agent: "builtin", module: "gate/gate.go", phase: "verification", fromOther: true},
		{agent: "openhands", model: "never", module: "calc.go", phase: "agent"},
		{agent: "openhands", model: "slow-test", module: "calc.go", phase: "verification", fromOther: true},
	}
	for name, dbURL := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "" },
		"postgres": func(t *testing.T) string { return testenv.PostgresSchema(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runCancels(t, dbURL(t), cases)
		})
	}
}

func runCancels(t *testing.T, dbURL string, cases []cancelCase) {
	ctx := context.Background()
	ws := testenv.GitRepo(t, map[string]string{
		"go.mod":       "module example.com/calc\n\ngo 1.22\n",
		"calc.go":      agenttest.GoModule,
		"slow/slow.go": slowModule,
		"gate/gate.go": gateModule, "gate/gate_wait_test.go": gateTest,
	})
	srv := openhandstest.NewServer(t, openhandstest.Options{APIKey: "session-key", Choose: func(s openhandstest.Start) openhandstest.Scenario {
		if strings.HasSuffix(s.Model, "never") {
			return openhandstest.Scenario{Kind: openhandstest.NeverFinish}
		}
		return openhandstest.Scenario{Files: map[string]string{"calc_test.go": slowGoTest}}
	}})
	agents := []agent.Agent{
		agentexec.New(agentexec.Config{Command: execScript}),
		builtin.New(builtin.Config{CallTimeout: 10 * time.Minute, Budget: 10 * time.Minute}),
		openhands.New(openhands.Config{URL: srv.URL, APIKey: "session-key", LLMAPIKey: "llm-key", Model: "test/model",
			PollInterval: 5 * time.Millisecond, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
			CancelTimeout: 3 * time.Second, MaxIterations: 20}),
	}
	cfg := handoff.Config{DatabaseURL: dbURL, Workspace: ws, Agents: agents, Workers: len(cases),
		HeartbeatInterval: 100 * time.Millisecond}
	worker, err := handoff.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { worker.Close(context.Background()) })
	require.NoError(t, worker.StartWorker(ctx))
	other, err := handoff.Open(ctx, cfg) // another process's view: it shares only the database
	require.NoError(t, err)
	t.Cleanup(func() { other.Close(context.Background()) })

	ids := make([]string, len(cases))
	for i, c := range cases {
		model := c.model
		if c.agent == "openhands" {
			model = "test/" + c.model
		}
		ids[i], err = worker.Submit(ctx, handoff.Request{Module: c.module, Agent: c.agent, Model: model, MaxRounds: 1,
			Output: path.Join(path.Dir(c.module), fmt.Sprintf("cancel%d_test.go", i))})
		require.NoError(t, err, "%+v", c)
	}
	// Each task is cancelled as soon as it is in its phase, whichever
	// comes first: a task that waited for the others' turn could end first.
	desc := func(c cancelCase) string {
		return fmt.Sprintf("%s agent, cancelled during %s, from the %s client", c.agent, c.phase,
			map[bool]string{false: "worker's", true: "other"}[c.fromOther])
	}
	pending := map[int]bool{}
	for i := range cases {
		pending[i] = true
	}
	deadline := time.Now().Add(6 * time.Minute) // ten tasks at once on a loaded 2-core machine compile slowly
	for len(pending) > 0 {
		for i := range pending {
			c := cases[i]
			if !inPhase(t, worker, ids[i], c.phase, desc(c)) {
				require.True(t, time.Now().Before(deadline), "%s: never reached the %s phase", desc(c), c.phase)
				continue
			}
			from := worker
			if c.fromOther {
				from = other
			}
			_, err := from.Cancel(ctx, ids[i])
			require.NoError(t, err, desc(c))
			delete(pending, i)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	for i, c := range cases {
		res, err := worker.Wait(ctx, ids[i], handoff.WaitOptions{Timeout: 3 * time.Minute, PollInterval: 50 * time.Millisecond})
		require.NoError(t, err, "%+v", c)
		require.Equal(t, handoff.StateCancelled, res.State, "%+v: %s", c, res.Error)
		require.Contains(t, res.CancelledBy, "pid", "%+v", c)
		require.Empty(t, res.Files, "%+v: a cancelled task writes nothing", c)
	}
}

// inPhase reports whether the task is in the phase: its agent at work, or
// verification under way. A task that ended already fails the test.
func inPhase(t *testing.T, c *handoff.Client, id, phase, desc string) bool {
	t.Helper()
	st, err := c.Status(context.Background(), id)
	require.NoError(t, err)
	require.False(t, st.State.Final(), "%s: ended %s before the cancel: %s", desc, st.State, st.LastError)
	p := st.Progress
	verifying := strings.Contains(p, "verifying")
	return st.State == handoff.StateRunning && p != "" && !strings.HasPrefix(p, "materialising") &&
		(phase == "verification") == verifying
}
