package openhands_test

// Tests of how the real servers behave where the stand-in used to be kinder
// than they are: Cloud's integer event paging, a paused sandbox refusing
// reads, the file route's 200 "" on failure, the server-chosen base of
// /git/changes, steps with several tool calls, AlwaysConfirm on Cloud, the
// deadline shared with the task's context, a missing mount, and a server
// that reports no cost.

import (
	"context"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/openhands"
	"github.com/handoff-dev/handoff/agent/openhands/openhandstest"
)

// withTaskDeadline gives the task a deadline of d from now and a context
// that ends then, as the engine does.
func withTaskDeadline(t *testing.T, b *bundle, d time.Duration) context.Context {
	t.Helper()
	b.task.Deadline = time.Now().Add(d)
	ctx, cancel := context.WithDeadline(context.Background(), b.task.Deadline)
	t.Cleanup(cancel)
	return ctx
}

// TestCloudLongRunWithA500StopsAtTheDeadlineWithItsFiles is the whole story
// on Cloud: more than 250 events paged by integer offset, a 500 in the
// middle of the run, and a stop at the task's deadline (the context ends
// then too) that still reads the files back before the sandbox is paused.
func TestCloudLongRunWithA500StopsAtTheDeadlineWithItsFiles(t *testing.T) {
	t.Parallel()
	b := cloudSetup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.NeverFinish,
		Steps: 1000, EventsPerStep: 10}})
	b.cfg.ReadBackReserve = 0.5 // 3s of the 6s: reading back on a loaded machine takes well under that
	b.cfg.MaxIterations = 10000
	var once sync.Once
	b.task.Progress = func(s string) {
		b.prog.add(s)
		if strings.Contains(s, " 10 steps") {
			once.Do(func() { b.srv.FailNextWith(1, 500) })
		}
	}
	ctx := withTaskDeadline(t, b, 6*time.Second)
	rep, err := b.agent(t).Run(ctx, b.task)
	require.ErrorIs(t, err, openhands.ErrDeadline, "stopped at the deadline, not cancelled")
	require.NotNil(t, rep)
	require.Equal(t, "deadline", rep.Details["stop_reason"])
	require.Equal(t, goTest, readFile(t, b.task.Dir, "calc_test.go"), "the files written so far came back")
	require.Equal(t, []string{"calc_test.go"}, rep.Details["files"])

	c := b.srv.Conversations()[0]
	require.Equal(t, "paused", c.Status, "the sandbox is paused after reading back")
	require.Equal(t, 1, count(b.srv, 500), "the one 500 was retried, and paging caused none")
	require.GreaterOrEqual(t, c.ToolCalls, 21, "more than 250 events: 12 a step")
	// Every action read once, none repeated across pages; the deadline may
	// fall between a status read (which made the last step) and its events.
	read := strings.Count(b.log.String(), "openhands ActionEvent:")
	require.LessOrEqual(t, read, c.ToolCalls, "no event read twice")
	require.GreaterOrEqual(t, read, c.ToolCalls-1, "no page of events skipped")
	for _, ex := range b.srv.Exchanges() {
		if strings.HasSuffix(ex.Path, "/events/search") {
			q, _ := url.ParseQuery(ex.RawQuery)
			if p := q.Get("page_id"); p != "" {
				_, perr := strconv.Atoi(p)
				require.NoError(t, perr, "Cloud's page_id is an integer offset: %q", p)
			}
		}
	}
}

// TestCloudStopReadsBeforePausing: the app server answers 409 to reads of a
// paused sandbox, so a stopped conversation is read back first.
func TestCloudStopReadsBeforePausing(t *testing.T) {
	t.Parallel()
	b := cloudSetup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.NeverFinish, Steps: 100,
		CostPerStep: 0.2}})
	b.cfg.BudgetUSD = 0.5
	rep, err := b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrBudget)
	require.Equal(t, "budget", rep.Details["stop_reason"])
	require.Equal(t, goTest, readFile(t, b.task.Dir, "calc_test.go"))
	c := b.srv.Conversations()[0]
	require.Equal(t, "paused", c.Status)
	require.Zero(t, count(b.srv, 409), "no read of a paused sandbox")
}

func TestCloudPagingReadsEveryEvent(t *testing.T) {
	t.Parallel()
	b := cloudSetup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Steps: 30, EventsPerStep: 8}})
	b.cfg.MaxIterations = 100
	rep, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	c := b.srv.Conversations()[0]
	require.Zero(t, count(b.srv, 500))
	require.Equal(t, c.ToolCalls, strings.Count(b.log.String(), "openhands ActionEvent:"))
	require.Equal(t, 31, rep.Details["iterations"])
}

func TestCloudFileFailuresAreNotWrittenAsEmptyFiles(t *testing.T) {
	t.Parallel()
	b := cloudSetup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Files: map[string]string{
		"calc_test.go": goTest, "testdata/blob.bin": "\xff\xfe\x00binary", "testdata/empty.txt": ""}}})
	rep, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.Equal(t, goTest, readFile(t, b.task.Dir, "calc_test.go"))
	require.Equal(t, "", readFile(t, b.task.Dir, "testdata/empty.txt"), "a file that is empty is written empty")
	require.NoFileExists(t, filepath.Join(b.task.Dir, "testdata", "blob.bin"),
		"the file route answered 200 \"\" for a file it could not read: not written")
	require.Equal(t, []string{"testdata/blob.bin"}, rep.Details["unreadable_files"])
	require.Contains(t, b.log.String(), "testdata/blob.bin")
}

// TestChangesAreListedAgainstTheSnapshot: without ref the server picks the
// base: the empty tree before 1.35 (every file ADDED), HEAD after (committed
// work vanishes).
func TestChangesAreListedAgainstTheSnapshot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		version string
		commit  bool
		cloud   bool
	}{
		{"agent server 1.34, empty-tree default", "1.34.0", false, false},
		{"agent server 1.43, the agent commits", "1.43.1", true, false},
		{"cloud, the agent commits", "1.43.1", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := openhandstest.Options{Version: tc.version, Scenario: openhandstest.Scenario{Commit: tc.commit,
				FilesFunc: fixtureFiles}}
			var b *bundle
			if tc.cloud {
				b = cloudSetup(t, opts)
			} else {
				b = setup(t, opts)
				b.cfg.Workspace, b.cfg.UploadDir = openhands.WorkspaceUpload, t.TempDir()
			}
			rep, err := b.agent(t).Run(context.Background(), b.task)
			require.NoError(t, err)
			require.Equal(t, []string{"calc_test.go"}, rep.Details["files"], "only what the agent changed")
			require.Equal(t, goTest, readFile(t, b.task.Dir, "calc_test.go"))
			require.Equal(t, tc.version, rep.Details["server_version"], "the agent server's release is in the result")
		})
	}
}

// TestStepsNotToolCallsCountAgainstMaxIterations: one step can make several
// tool calls; the server counts steps.
func TestStepsNotToolCallsCountAgainstMaxIterations(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Steps: 2, CallsPerStep: 3}})
	b.cfg.MaxIterations = 3
	rep, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.Equal(t, 3, rep.Details["iterations"], "two steps and the finish")
	require.Equal(t, 7, rep.Details["tool_calls"])

	b = setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.MaxIterationsLegacy,
		CallsPerStep: 2}})
	b.cfg.MaxIterations = 3
	_, err = b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrMaxIterations)
	require.Equal(t, 3, b.srv.Conversations()[0].Actions, "stopped after three steps, not three tool calls")
}

// TestCloudAlwaysConfirmIsAnsweredThroughTheSandbox: accounts with
// confirmation mode on run with AlwaysConfirm; the V1 API cannot confirm,
// the sandbox's own agent server can.
func TestCloudAlwaysConfirmIsAnsweredThroughTheSandbox(t *testing.T) {
	t.Parallel()
	b := cloudSetup(t, openhandstest.Options{CloudConfirmation: true, Scenario: openhandstest.Scenario{Steps: 3}})
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	c := b.srv.Conversations()[0]
	require.True(t, c.AlwaysConfirm)
	require.Equal(t, []bool{true, true, true}, c.Confirmations)
	require.Equal(t, goTest, readFile(t, b.task.Dir, "calc_test.go"))
	hex := strings.ReplaceAll(c.ID, "-", "")
	n := 0
	for _, ex := range b.srv.Exchanges() {
		if ex.Path == "/api/conversations/"+hex+"/events/respond_to_confirmation" {
			n++
			require.Equal(t, "sandbox-key-"+hex[:12], ex.RequestHeader.Get("X-Session-API-Key"))
			require.Empty(t, ex.RequestHeader.Get("Authorization"), "the Cloud key stays with the app server")
		}
	}
	require.Equal(t, 3, n)
}

// TestDeadlineOfTheTaskContextReadsResultsBack: the engine's context ends at
// the task's deadline; following stops early enough to read back.
func TestDeadlineOfTheTaskContextReadsResultsBack(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.NeverFinish}})
	b.cfg.Workspace, b.cfg.UploadDir = openhands.WorkspaceUpload, t.TempDir()
	b.cfg.ReadBackReserve = 0.5
	ctx := withTaskDeadline(t, b, 4*time.Second)
	rep, err := b.agent(t).Run(ctx, b.task)
	require.ErrorIs(t, err, openhands.ErrDeadline)
	require.NotNil(t, rep)
	require.Equal(t, goTest, readFile(t, b.task.Dir, "calc_test.go"), "downloaded before the deadline")
	c := b.srv.Conversations()[0]
	require.Equal(t, "paused", c.Status)
	require.False(t, c.Deleted)
}

func TestSharedModeChecksTheMount(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{})
	b.cfg.LocalPrefix = filepath.Dir(b.task.Dir)
	b.cfg.ServerPrefix = t.TempDir() // the server mounts something else there
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.ErrorContains(t, err, "does not see the task directory")
	require.ErrorContains(t, err, "OPENHANDS_PATH_MAP")
	require.ErrorContains(t, err, "OPENHANDS_WORKSPACE=upload")
	require.False(t, agent.IsTransient(err), "a configuration mistake is not retried")
	require.Empty(t, b.srv.Conversations(), "no conversation starts in a directory the server made up")
	require.NoFileExists(t, filepath.Join(b.task.Dir, ".handoff-mount-check"), "the marker is removed")
}

func TestCostFromTokenUsageWhenTheServerReportsNone(t *testing.T) {
	t.Parallel()
	// The agent server reports $0 for a model LiteLLM has no price for.
	b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.NeverFinish, Steps: 100,
		TokensPerStep: 50_000}})
	b.cfg.Model = "openrouter/anthropic/claude-sonnet-4"
	b.cfg.BudgetUSD = 2
	rep, err := b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrBudget, "priced at $3/$15 per million tokens, $0.90 a step")
	require.Equal(t, 3, b.srv.Conversations()[0].Actions)
	require.InDelta(t, 2.7, rep.Details["cost_usd"], 1e-9)
	require.NotContains(t, rep.Details, "cost_unknown")

	// A model handoff has no price for: the result says the cost is unknown.
	b = setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{TokensPerStep: 1000}})
	rep, err = b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.Equal(t, true, rep.Details["cost_unknown"])
	require.Contains(t, rep.Details["cost_note"], "OPENHANDS_PRICES")
	require.Contains(t, b.prog.all(), "cost unknown")

	// OPENHANDS_PRICES prices it.
	b = setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{TokensPerStep: 1000}})
	b.cfg.Prices = map[string]openhands.Price{"test/model-a": {Input: 1, Output: 2}}
	rep, err = b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.InDelta(t, 0.006, rep.Details["cost_usd"], 1e-9, "2000 prompt and 2000 completion tokens")
}

// TestFaultPausesTheConversation: when handoff cannot follow a conversation
// it pauses it rather than leave it running (and billing).
func TestFaultPausesTheConversation(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.NeverFinish}})
	b.cfg.MaxRetries = 2
	var once sync.Once
	b.task.Progress = func(s string) {
		b.prog.add(s)
		once.Do(func() { b.srv.FailNext(3) })
	}
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.Error(t, err)
	require.True(t, agent.IsTransient(err), "%v", err)
	c := b.srv.Conversations()[0]
	require.Equal(t, 1, c.Pauses)
	require.Equal(t, "paused", c.Status)
}

func TestReadBackReserveFromEnv(t *testing.T) { // not parallel: t.Setenv
	t.Setenv("OPENHANDS_READBACK_RESERVE", "25%")
	t.Setenv("OPENHANDS_PRICES", "my/model=0.5/1.5")
	cfg := openhands.FromEnv()
	require.InDelta(t, 0.25, cfg.ReadBackReserve, 1e-9)
	require.Equal(t, openhands.Price{Input: 0.5, Output: 1.5}, cfg.Prices["my/model"])

	t.Setenv("OPENHANDS_PRICES", "my/model=cheap")
	cfg = openhands.FromEnv()
	cfg.URL = "http://localhost:1"
	require.ErrorContains(t, openhands.New(cfg).Check(), "OPENHANDS_PRICES")
}
