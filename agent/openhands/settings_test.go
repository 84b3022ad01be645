package openhands_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/agent/openhands"
	"github.com/handoff-dev/handoff/agent/openhands/openhandstest"
)

// TestSettingsTravel: a worker configured for a server that is down, its
// circuit open, runs a task submitted for another server and model against
// that server, with the worker's own keys.
func TestSettingsTravel(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{})
	down := openhandstest.NewServer(t, openhandstest.Options{APIKey: sessionKey})
	down.SetDown(true)
	wcfg := fastConfig(down.URL)
	wcfg.BreakerFailures, wcfg.MaxRetries = 1, 1
	worker := openhands.New(wcfg)
	_, err := worker.Run(context.Background(), b.task)
	require.Error(t, err)
	require.ErrorIs(t, worker.Check(), openhands.ErrCircuitOpen, "the worker's own server is down")

	scfg := fastConfig(b.srv.URL)
	scfg.APIKey, scfg.LLMAPIKey, scfg.Model, scfg.MaxIterations = "", "", "test/model-b", 7
	raw, err := openhands.New(scfg).Settings()
	require.NoError(t, err)
	require.NotContains(t, string(raw), sessionKey)
	var s map[string]any
	require.NoError(t, json.Unmarshal(raw, &s))
	require.Equal(t, b.srv.URL, s["url"])

	a, err := worker.WithSettings(raw)
	require.NoError(t, err)
	again, err := worker.WithSettings(raw)
	require.NoError(t, err)
	require.Same(t, a, again, "one agent per settings, so tasks share a server's circuit breaker")
	require.NoError(t, a.(*openhands.Agent).Check())
	_, err = a.Run(context.Background(), b.task)
	require.NoError(t, err)
	convs := b.srv.Conversations()
	require.Len(t, convs, 1)
	require.Equal(t, "test/model-b", convs[0].Model, "the submitter's model")
	for _, ex := range b.srv.Exchanges() {
		require.Equal(t, sessionKey, ex.RequestHeader.Get("X-Session-API-Key"), "the worker's own key")
	}
	require.Equal(t, map[string]string{"OPENHANDS_API_KEY": sessionKey, "LLM_API_KEY": llmKey},
		a.(*openhands.Agent).Secrets())
}

func TestSettingsRefuseAPasswordInTheURL(t *testing.T) {
	t.Parallel()
	_, err := openhands.New(openhands.Config{URL: "http://user:hunter2@oh:8000"}).Settings()
	require.ErrorContains(t, err, "OPENHANDS_URL carries a password")
	require.NotContains(t, err.Error(), "hunter2")
}

// TestCLIWorkerTalksToTheTasksServer: a worker started while OPENHANDS_URL
// named a server that is now down runs a task submitted for another server
// on that server, as the task was asked.
func TestCLIWorkerTalksToTheTasksServer(t *testing.T) {
	t.Parallel()
	c := newCLI(t, openhandstest.Scenario{Files: map[string]string{"calc_test.go": agenttest.GoModuleTests}})
	down := openhandstest.NewServer(t, openhandstest.Options{APIKey: sessionKey})
	down.SetDown(true)
	submitEnv := c.env
	c.env = append(slices.Clone(c.env), "OPENHANDS_URL="+down.URL, "LLM_MODEL=test/old-model")
	c.worker(t)
	c.env = submitEnv

	res := c.runGenerate().result(t)
	require.Equal(t, true, res["success"], res["error"])
	ag := res["agent"].(map[string]any)
	require.Equal(t, "test/model-a", ag["model"], "the submitter's model")
	require.Equal(t, "submitter", ag["secrets"])
	require.Len(t, c.srv.Conversations(), 1, "the conversation ran on the task's server")
	require.Zero(t, down.Creates(), "the worker's own server was never asked")
}
