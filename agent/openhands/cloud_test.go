package openhands_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/openhands"
	"github.com/handoff-dev/handoff/agent/openhands/openhandstest"
)

// cloudSetup is setup for Cloud: the stand-in's sandbox works in its own
// checkout of the repository, and results come back over the API.
func cloudSetup(t *testing.T, opts openhandstest.Options) *bundle {
	t.Helper()
	checkout := t.TempDir()
	writeTree(t, checkout, map[string]string{"go.mod": "module example.com/calc\n\ngo 1.22\n", "calc.go": "package calc\n"})
	opts.CloudWorkspace = checkout
	b := setup(t, opts)
	b.cfg.Target, b.cfg.Repository, b.cfg.Branch, b.cfg.RepoDir = openhands.TargetCloud, "acme/calc", "main", checkout
	return b
}

func TestCloudRunBringsChangesBack(t *testing.T) {
	t.Parallel()
	b := cloudSetup(t, openhandstest.Options{StartTaskPolls: 3, Scenario: openhandstest.Scenario{CostPerStep: 0.05}})
	rep, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.Equal(t, goTest, readFile(t, b.task.Dir, "calc_test.go"), "read through the app server's file route")
	require.Equal(t, []string{"calc_test.go"}, rep.Details["files"])
	c := b.srv.Conversations()[0]
	require.True(t, c.Cloud)
	require.Equal(t, "test/model-a", c.Model)
	require.Equal(t, strings.ReplaceAll(c.ID, "-", ""), rep.Details["conversation_id"], "the app server's 32-hex ID is kept")
	require.Equal(t, b.srv.URL+"/api/conversations/"+strings.ReplaceAll(c.ID, "-", ""), rep.Details["conversation_url"],
		"the sandbox's agent server URL and the conversation's 32-hex ID, as the app server builds it")
	require.InDelta(t, 0.1, rep.Details["cost_usd"], 1e-9)
	require.Contains(t, b.prog.all(), "openhands Cloud: working")
	for _, ex := range b.srv.Exchanges() {
		if !strings.HasPrefix(ex.Path, "/api/v1/") { // the sandbox's agent server, with the sandbox's key
			require.Equal(t, "/server_info", ex.Path)
			require.Equal(t, "sandbox-key-"+strings.ReplaceAll(c.ID, "-", "")[:12], ex.RequestHeader.Get("X-Session-API-Key"))
			require.Empty(t, ex.RequestHeader.Get("Authorization"))
			continue
		}
		require.Equal(t, "Bearer "+sessionKey, ex.RequestHeader.Get("Authorization"))
		require.NotContains(t, string(ex.RequestBody), llmKey, "Cloud uses the account's LLM settings")
		if ex.Method == "POST" && ex.Path == "/api/v1/app-conversations" {
			require.Contains(t, string(ex.RequestBody), `"selected_repository":"acme/calc"`)
			require.Contains(t, string(ex.RequestBody), `"selected_branch":"main"`)
		}
	}
	b.requireNoSecrets(t)
}

func TestCloudAuthHeaderIsSwitchable(t *testing.T) {
	t.Parallel()
	b := cloudSetup(t, openhandstest.Options{})
	b.cfg.AuthHeader = "X-Access-Token"
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	for _, ex := range b.srv.Exchanges() {
		if !strings.HasPrefix(ex.Path, "/api/v1/") {
			continue // the sandbox's agent server: its own key
		}
		require.Equal(t, sessionKey, ex.RequestHeader.Get("X-Access-Token"))
		require.Empty(t, ex.RequestHeader.Get("Authorization"))
	}

	b = cloudSetup(t, openhandstest.Options{})
	b.cfg.APIKey = "nope"
	_, err = b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrUnauthorized)
	require.ErrorContains(t, err, "OPENHANDS_AUTH_HEADER")
}

func TestCloudPausedSandboxIsResumed(t *testing.T) {
	t.Parallel()
	b := cloudSetup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.PauseThenResume}})
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	c := b.srv.Conversations()[0]
	require.Equal(t, "finished", c.Status)
	require.Equal(t, 1, c.Runs, "PAUSED is not terminal: the sandbox was resumed")
}

func TestCloudCancelPausesSandboxAndDeletes(t *testing.T) {
	t.Parallel()
	b := cloudSetup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.NeverFinish}})
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() { _, err := b.agent(t).Run(ctx, b.task); done <- err }()
	require.Eventually(t, func() bool { return len(b.srv.Conversations()) == 1 }, 5*time.Second, time.Millisecond)
	cancel(errors.New("cancelled by request"))
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancellation")
	}
	c := b.srv.Conversations()[0]
	require.Equal(t, 1, c.Pauses)
	require.True(t, c.Deleted)
}

func TestCloudReattachesToTheRecordedStartTask(t *testing.T) {
	t.Parallel()
	b := cloudSetup(t, openhandstest.Options{StartTaskPolls: 5})
	ctx, cancel := context.WithCancel(context.Background())
	b.task.Progress = func(s string) {
		if strings.Contains(s, "Cloud: working") {
			cancel() // the worker dies while the sandbox starts
		}
	}
	b.cfg.KeepOnCancel = true
	_, err := b.agent(t).Run(ctx, b.task)
	require.ErrorIs(t, err, context.Canceled)
	recorded, _, _ := b.state.Get(context.Background(), "openhands")
	require.Contains(t, recorded, `"start_task":"`)

	// The next worker waits for the same start task instead of starting a
	// second sandbox.
	b.task.Progress = b.prog.add
	b.task.Attempt = 2
	_, err = b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.Equal(t, 1, b.srv.Creates(), "one start request in all")
	require.Len(t, b.srv.Conversations(), 1)
	require.Equal(t, goTest, readFile(t, b.task.Dir, "calc_test.go"))
}

func TestCloudSandboxErrorIsRetriedOnceThenTransient(t *testing.T) {
	t.Parallel()
	b := cloudSetup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.Restart}})
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrServerRestarted)
	require.Len(t, b.srv.Conversations(), 2)
	_, statErr := os.Stat(filepath.Join(b.task.Dir, "calc_test.go"))
	require.NoError(t, statErr, "what the agent wrote was brought back for inspection")
}
