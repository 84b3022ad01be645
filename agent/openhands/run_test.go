package openhands_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/agent/openhands"
	"github.com/handoff-dev/handoff/agent/openhands/openhandstest"
)

func TestRunSharedWorkspaceWritesTests(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Steps: 3, CostPerStep: 0.01, TokensPerStep: 100}})
	rep, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)

	require.Equal(t, goTest, readFile(t, b.task.Dir, "calc_test.go"), "the server wrote into the shared task directory")
	convs := b.srv.Conversations()
	require.Len(t, convs, 1)
	c := convs[0]
	require.Equal(t, b.task.Dir, c.WorkingDir)
	require.Equal(t, "test/model-a", c.Model)
	require.Equal(t, b.task.Prompt, c.Prompt)
	require.Equal(t, "finished", c.Status)

	require.Equal(t, "test/model-a", rep.Model)
	require.Equal(t, "Wrote the tests.", rep.Summary)
	require.Equal(t, c.ID, rep.Details["conversation_id"])
	require.Equal(t, b.srv.URL+"/api/conversations/"+c.ID, rep.Details["conversation_url"])
	require.Equal(t, 4, rep.Details["iterations"], "three scripted actions and the finish")
	require.InDelta(t, 0.03, rep.Details["cost_usd"], 1e-9)
	require.EqualValues(t, 600, rep.Details["tokens"])

	v, ok, err := b.state.Get(context.Background(), "openhands")
	require.NoError(t, err)
	require.True(t, ok, "the conversation is recorded with the task")
	require.Contains(t, v, c.ID)

	require.Contains(t, b.prog.all(), "actions")
	require.Contains(t, b.log.String(), "finish: Wrote the tests.")
	repJSON, _ := json.Marshal(rep)
	b.requireNoSecrets(t, string(repJSON))

	// The session key travelled in its header, the LLM key only in the create body.
	for _, ex := range b.srv.Exchanges() {
		require.Equal(t, sessionKey, ex.RequestHeader.Get("X-Session-API-Key"))
		if ex.Method == "POST" && ex.Path == "/api/conversations" {
			require.Contains(t, string(ex.RequestBody), llmKey)
			require.Contains(t, string(ex.RequestBody), `"NeverConfirm"`)
			require.Contains(t, string(ex.RequestBody), `"stuck_detection":true`)
			require.Contains(t, string(ex.RequestBody), `"max_iterations":20`)
		} else {
			require.NotContains(t, string(ex.RequestBody), llmKey)
		}
		require.NotContains(t, ex.Path+ex.RawQuery, llmKey)
	}
}

func TestRunPathMapTranslatesWorkingDir(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{})
	b.cfg.LocalPrefix = filepath.Dir(b.task.Dir)
	b.cfg.ServerPrefix = filepath.Dir(b.task.Dir) // a mount at the same place: the mapping must round-trip
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.Equal(t, b.task.Dir, b.srv.Conversations()[0].WorkingDir)

	b = setup(t, openhandstest.Options{})
	b.cfg.LocalPrefix = "/somewhere/else"
	b.cfg.ServerPrefix = "/workspace"
	_, err = b.agent(t).Run(context.Background(), b.task)
	require.ErrorContains(t, err, "OPENHANDS_PATH_MAP")
	require.Empty(t, b.srv.Conversations())
}

func TestRunUploadWorkspace(t *testing.T) {
	t.Parallel()
	for _, style := range []struct {
		name string
		opts openhandstest.Options
	}{
		{"query-style", openhandstest.Options{QueryStyleOnly: true}},
		{"path-style fallback", openhandstest.Options{PathStyleOnly: true}},
	} {
		t.Run(style.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, style.opts)
			remote := t.TempDir()
			b.cfg.Workspace = openhands.WorkspaceUpload
			b.cfg.UploadDir = remote
			rep, err := b.agent(t).Run(context.Background(), b.task)
			require.NoError(t, err)

			c := b.srv.Conversations()[0]
			require.Equal(t, filepath.Join(remote, c.ID), c.WorkingDir, "the conversation works in the uploaded copy")
			require.FileExists(t, filepath.Join(c.WorkingDir, "calc.go"), "the snapshot was unpacked on the server")
			require.DirExists(t, filepath.Join(c.WorkingDir, ".git"), "the copy is a git repository for the git routes")
			require.Equal(t, goTest, readFile(t, b.task.Dir, "calc_test.go"), "the result was downloaded into the task directory")
			require.Equal(t, []string{"calc_test.go"}, rep.Details["files"])
		})
	}
}

func TestRunFeedbackAppendedToPrompt(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{})
	b.task.Round = 2
	b.task.Feedback = &agent.Feedback{Text: "TestDiv was dropped: it does not build."}
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	c := b.srv.Conversations()[0]
	require.True(t, strings.HasPrefix(c.Prompt, b.task.Prompt))
	require.Contains(t, c.Prompt, b.task.Feedback.Text)

	// Already in the prompt: not repeated.
	b2 := setup(t, openhandstest.Options{})
	b2.task.Feedback = &agent.Feedback{Text: "fix TestDiv"}
	b2.task.Prompt += "\n\nfix TestDiv"
	_, err = b2.agent(t).Run(context.Background(), b2.task)
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(b2.srv.Conversations()[0].Prompt, "fix TestDiv"))
}

func TestRunRefusesUnsupportedLanguageAndNoModel(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{})
	b.task.Language = "rust"
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, agent.ErrUnsupportedLanguage)

	b = setup(t, openhandstest.Options{})
	b.cfg.Model = ""
	_, err = b.agent(t).Run(context.Background(), b.task)
	require.ErrorContains(t, err, "LLM_MODEL")
	require.Empty(t, b.srv.Exchanges(), "nothing is sent without a model")
}

func TestCheckNamesTheVariableToSet(t *testing.T) {
	t.Parallel()
	for want, cfg := range map[string]openhands.Config{
		"OPENHANDS_URL":         {},
		"is not an http(s) URL": {URL: "ftp://x"},
		"OPENHANDS_REPOSITORY":  {URL: "https://app.all-hands.dev", Target: openhands.TargetCloud},
		"OPENHANDS_WORKSPACE":   {URL: "http://x", Workspace: "nfs"},
	} {
		a := openhands.New(cfg)
		require.ErrorContains(t, a.Check(), want)
		fx := agenttest.NewFixture(t, "go")
		_, err := a.Run(context.Background(), fx.Task)
		require.ErrorContains(t, err, want, "Run reports the same problem")
		require.Equal(t, "openhands", a.Name())
	}
	var _ agent.Checker = openhands.New(openhands.Config{})
}

// writeTree is a helper for tests that need extra files in a directory.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
}

var _ = fmt.Sprint
