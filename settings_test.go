package handoff_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent"
	agentexec "github.com/handoff-dev/handoff/agent/exec"
)

// submitter opens a client on the workspace's database that submits with an
// exec agent running command, and does not work.
func submitter(t *testing.T, ws, command string) *handoff.Client {
	t.Helper()
	a := agentexec.New(agentexec.Config{Command: command, PassEnv: []string{"PATH"}})
	c, err := handoff.Open(context.Background(), handoff.Config{Workspace: ws, Agents: []agent.Agent{a}, DefaultAgent: "exec"})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// TestIdempotencyCountsSettings: the agent's settings are part of what a
// request asks for, the salted prints of its secrets are not.
func TestIdempotencyCountsSettings(t *testing.T) {
	t.Parallel()
	ws := goWorkspace(t)
	ctx := context.Background()
	req := handoff.Request{Module: "calc.go", IdempotencyKey: "k1"}
	first, err := submitter(t, ws, "echo one").Submit(ctx, req)
	require.NoError(t, err)
	again, err := submitter(t, ws, "echo one").Submit(ctx, req)
	require.NoError(t, err)
	require.Equal(t, first, again, "the same settings and secrets give the same task, though each submit salts its prints anew")
	_, err = submitter(t, ws, "echo two").Submit(ctx, req)
	require.ErrorIs(t, err, handoff.ErrIdempotencyConflict, "another command line is another request")
}

// TestRequestAgentSettings: settings a caller gives are the ones the task
// travels with; one the agent does not know is refused by name.
func TestRequestAgentSettings(t *testing.T) {
	t.Parallel()
	ws := goWorkspace(t)
	ctx := context.Background()
	c := open(t, ws, agentexec.New(agentexec.Config{Command: "exit 3"}))
	settings, _ := json.Marshal(map[string]any{"command": "cat > \"$HANDOFF_OUTPUT_PATH\" <<'GO'\n" + goodGoTests + "GO\n"})
	id, err := c.Submit(ctx, handoff.Request{Module: "calc.go", AgentSettings: settings, Runs: 1})
	require.NoError(t, err)
	res, err := c.Wait(ctx, id, handoff.WaitOptions{})
	require.NoError(t, err)
	require.True(t, res.Success, "the request's command ran, not the client's: %s", res.Error)

	_, err = c.Submit(ctx, handoff.Request{Module: "calc.go", AgentSettings: json.RawMessage(`{"command":"true","colour":"blue"}`)})
	require.ErrorIs(t, err, handoff.ErrInvalidRequest)
	require.ErrorContains(t, err, "colour")
}
