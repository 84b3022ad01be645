package openhands_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/agent/openhands"
	"github.com/handoff-dev/handoff/agent/openhands/openhandstest"
)

// count returns how many recorded exchanges answered status.
func count(srv *openhandstest.Server, status int) int {
	n := 0
	for _, ex := range srv.Exchanges() {
		if ex.Status == status {
			n++
		}
	}
	return n
}

func TestRateLimitHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{RateLimit: 1, RetryAfter: "1"})
	start := time.Now()
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "the client waited for Retry-After: 1")
	require.Equal(t, 1, count(b.srv, 429))
	require.FileExists(t, b.task.Dir+"/calc_test.go")
}

func TestRateLimitBeyondPatienceIsTransient(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{RateLimit: 100, RetryAfter: "3600"})
	start := time.Now()
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.Error(t, err)
	require.True(t, agent.IsTransient(err), "a rate limit is worth a later attempt: %v", err)
	require.ErrorContains(t, err, "1h0m0s")
	require.Less(t, time.Since(start), 2*time.Second, "an hour's Retry-After is not slept through")
	require.Equal(t, 1, len(b.srv.Exchanges()))
}

func TestServerErrorsAreRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{ServerErrors: 4})
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.Equal(t, 4, count(b.srv, 503))
	require.Len(t, b.srv.Conversations(), 1)
}

func TestServerErrorsOutlastingRetriesAreTransient(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{ServerErrors: 1000})
	b.cfg.MaxRetries = 3
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.Error(t, err)
	require.True(t, agent.IsTransient(err), "%v", err)
	require.ErrorContains(t, err, "503")
	require.Equal(t, 4, count(b.srv, 503), "one try and three retries")
}

func TestConnectionErrorsAreTransient(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{})
	dead := httptest.NewServer(nil)
	dead.Close()
	b.cfg.URL, b.cfg.MaxRetries = dead.URL, 2
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.Error(t, err)
	require.True(t, agent.IsTransient(err), "%v", err)
	require.ErrorContains(t, err, "gave up after 3 tries")
}

func TestUnauthorizedFailsAtOnceNamingTheVariable(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{})
	b.cfg.APIKey = "wrong-" + sessionKey
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrUnauthorized)
	require.False(t, agent.IsTransient(err))
	require.ErrorContains(t, err, "OPENHANDS_API_KEY")
	require.Len(t, b.srv.Exchanges(), 1, "a 401 is not retried")
	b.requireNoSecrets(t, err.Error())
	require.NotContains(t, err.Error(), b.cfg.APIKey)

	b = setup(t, openhandstest.Options{})
	b.cfg.APIKey = ""
	_, err = b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrUnauthorized)
	require.ErrorContains(t, err, "OPENHANDS_API_KEY is empty")
}

func TestCircuitBreakerFailsFastWhileOpen(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{})
	b.cfg.MaxRetries, b.cfg.BreakerFailures, b.cfg.BreakerCooldown = 2, 3, time.Hour
	a := b.agent(t)
	b.srv.SetDown(true)

	_, err := a.Run(context.Background(), b.task)
	require.Error(t, err)
	require.True(t, agent.IsTransient(err))
	before := len(b.srv.Exchanges())
	require.Equal(t, 3, before, "the breaker opened after three failed requests")

	start := time.Now()
	_, err = a.Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrCircuitOpen)
	require.True(t, agent.IsTransient(err))
	require.ErrorContains(t, err, b.srv.URL, "the message names the server")
	require.Less(t, time.Since(start), time.Second)
	require.Equal(t, before, len(b.srv.Exchanges()), "no request reaches a server while its circuit is open")
	require.ErrorIs(t, a.Check(), openhands.ErrCircuitOpen, "Submit fails at once while the circuit is open")
}

func TestCircuitBreakerClosesAfterCooldown(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{})
	b.cfg.MaxRetries, b.cfg.BreakerFailures, b.cfg.BreakerCooldown = 1, 2, 50*time.Millisecond
	a := b.agent(t)
	b.srv.SetDown(true)
	_, err := a.Run(context.Background(), b.task)
	require.Error(t, err)
	b.srv.SetDown(false)
	require.Eventually(t, func() bool { return a.Check() == nil }, 5*time.Second, 5*time.Millisecond,
		"the circuit half-opens after the cooldown")
	require.Eventually(t, func() bool {
		_, err := a.Run(context.Background(), b.task)
		return err == nil
	}, 5*time.Second, 20*time.Millisecond, "after the cooldown a probe goes through and the task runs")
}

func TestUnknownStatusesAndEventKindsAreTolerated(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{UnknownStatus: "hibernating", UnknownEvents: true}})
	rep, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.NotNil(t, rep)
	require.Contains(t, b.prog.all(), "hibernating", "the unknown status was seen and waited through")
	require.Contains(t, b.log.String(), "HologramEvent")
}

func TestDeadlinePausesTheConversation(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.NeverFinish}})
	b.task.Deadline = time.Now().Add(300 * time.Millisecond)
	start := time.Now()
	rep, err := b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrDeadline)
	require.False(t, agent.IsTransient(err))
	require.Less(t, time.Since(start), 3*time.Second)
	c := b.srv.Conversations()[0]
	require.Equal(t, "paused", c.Status)
	require.NotNil(t, rep)
	require.Equal(t, "deadline", rep.Details["stop_reason"])
}

func TestMaxIterations(t *testing.T) {
	t.Parallel()
	for _, kind := range []openhandstest.Kind{openhandstest.MaxIterations, openhandstest.MaxIterationsLegacy} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: kind}})
			b.cfg.MaxIterations = 3
			rep, err := b.agent(t).Run(context.Background(), b.task)
			require.ErrorIs(t, err, openhands.ErrMaxIterations)
			c := b.srv.Conversations()[0]
			require.Equal(t, 3, c.MaxIterations, "max_iterations was sent")
			require.Equal(t, 3, c.Actions)
			if kind == openhandstest.MaxIterationsLegacy {
				require.Equal(t, "paused", c.Status, "a conversation left running is paused")
			}
			require.Equal(t, "max_iterations", rep.Details["stop_reason"])
			require.FileExists(t, b.task.Dir+"/calc_test.go", "what the agent wrote stays for inspection")
		})
	}
}

func TestBudgetPausesAndSpansRounds(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.NeverFinish, Steps: 100,
		CostPerStep: 0.2}})
	b.cfg.BudgetUSD = 0.5
	a := b.agent(t)
	rep, err := a.Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrBudget)
	require.ErrorContains(t, err, "$0.5000 budget")
	c := b.srv.Conversations()[0]
	require.Equal(t, "paused", c.Status)
	require.Equal(t, 3, c.Actions, "stopped at the first poll past the budget")
	require.Equal(t, "budget", rep.Details["stop_reason"])

	b.task.Round = 2
	_, err = a.Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrBudget, "the budget is the task's, not the round's")
	require.Len(t, b.srv.Conversations(), 1, "no conversation is started once the budget is spent")
}

// TestTaskBudgetWins: a budget given with the task (--budget-usd) replaces
// the agent's configured one.
func TestTaskBudgetWins(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.NeverFinish, Steps: 100,
		CostPerStep: 0.2}})
	b.cfg.BudgetUSD = 100
	b.task.BudgetUSD = 0.5
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrBudget)
	require.ErrorContains(t, err, "$0.5000 budget")
}

func TestWaitingForConfirmationIsAnswered(t *testing.T) {
	t.Parallel()
	for _, reject := range []bool{false, true} {
		b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.Confirm}})
		b.cfg.RejectConfirmations = reject
		_, err := b.agent(t).Run(context.Background(), b.task)
		require.NoError(t, err)
		require.Equal(t, []bool{!reject}, b.srv.Conversations()[0].Confirmations)
	}
}

func TestStuckAndErrorEndTheTask(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.Stuck}})
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrStuck)
	require.False(t, agent.IsTransient(err))

	b = setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.Fail,
		ErrorCode: "RuntimeError", ErrorDetail: "tool crashed"}})
	_, err = b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrConversation)
	require.ErrorContains(t, err, "tool crashed")
	require.Len(t, b.srv.Conversations(), 1, "a plain error is not retried")
}

func TestServerRestartIsRetriedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Choose: func(s openhandstest.Start) openhandstest.Scenario {
		if s.N == 1 {
			return openhandstest.Scenario{Kind: openhandstest.Restart, FilesFunc: fixtureFiles}
		}
		return openhandstest.Scenario{FilesFunc: fixtureFiles}
	}})
	rep, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.Equal(t, 1, b.srv.Restarts())
	convs := b.srv.Conversations()
	require.Len(t, convs, 2)
	require.Equal(t, "error", convs[0].Status)
	require.Equal(t, "finished", convs[1].Status)
	require.NotEqual(t, convs[0].ID, convs[1].ID)
	require.Equal(t, 2, rep.Details["conversations"])
	require.Contains(t, b.log.String(), "reloaded as error")

	b = setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.Restart}})
	_, err = b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrServerRestarted)
	require.True(t, agent.IsTransient(err))
	require.Len(t, b.srv.Conversations(), 2, "retried once, not more")
}

func TestWedgedConversationIsReplacedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Choose: func(s openhandstest.Start) openhandstest.Scenario {
		if s.N == 1 {
			return openhandstest.Scenario{Kind: openhandstest.Wedged}
		}
		return openhandstest.Scenario{FilesFunc: fixtureFiles}
	}})
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	convs := b.srv.Conversations()
	require.Len(t, convs, 2)
	require.Equal(t, 3, convs[0].Runs, "POST /run was tried while idle, answering 409")
	require.Equal(t, 3, count(b.srv, 409))
	require.Equal(t, 2, count(b.srv, 201), "a second conversation replaced the wedged one")
}

func TestPausedConversationIsResumed(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.PauseThenResume}})
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	c := b.srv.Conversations()[0]
	require.Equal(t, "finished", c.Status)
	require.Equal(t, 1, c.Runs, "the client ran the paused conversation again")
}

func TestModelFallbackOnLLMError(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Choose: func(s openhandstest.Start) openhandstest.Scenario {
		if s.Model == "test/model-a" {
			return openhandstest.Scenario{Kind: openhandstest.Fail, ErrorCode: "LLMContextWindowExceedError",
				ErrorDetail: "context length exceeded"}
		}
		return openhandstest.Scenario{FilesFunc: fixtureFiles}
	}})
	b.cfg.Models = []string{"test/model-b", "test/model-c"}
	rep, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.Equal(t, "test/model-b", rep.Model, "the result records the model that produced the tests")
	convs := b.srv.Conversations()
	require.Len(t, convs, 2)
	require.Equal(t, []string{"test/model-a", "test/model-b"}, []string{convs[0].Model, convs[1].Model})

	// The next round starts from the model that worked.
	b.task.Round = 2
	_, err = b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.Equal(t, "test/model-b", b.srv.Conversations()[2].Model)
}

func TestModelFallbackExhausted(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.Fail}}) // rate limit
	b.cfg.Models = []string{"test/model-b"}
	_, err := b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrLLM)
	require.True(t, agent.IsTransient(err), "a rate limit on every model is worth a later attempt")
	require.ErrorContains(t, err, "HANDOFF_MODELS")
	require.Len(t, b.srv.Conversations(), 2)
	b.requireNoSecrets(t, err.Error())
}

func TestCancelPausesAndDeletes(t *testing.T) {
	t.Parallel()
	errCancelled := errors.New("cancelled by request")
	for _, tc := range []struct {
		name        string
		cause       error
		keep        bool
		wantDeleted bool
	}{
		{"cancel with a cause deletes", errCancelled, false, true},
		{"kept on request", errCancelled, true, false},
		{"shutdown pauses for the next worker", nil, false, false},
	} {
		b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.NeverFinish}})
		b.cfg.KeepOnCancel = tc.keep
		ctx, cancel := context.WithCancelCause(context.Background())
		done := make(chan error, 1)
		go func() { _, err := b.agent(t).Run(ctx, b.task); done <- err }()
		<-b.prog.first
		start := time.Now()
		cancel(tc.cause)
		var err error
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Run did not return within 5s of cancellation", tc.name)
		}
		require.ErrorIs(t, err, context.Canceled, tc.name)
		require.Less(t, time.Since(start), 2*time.Second, tc.name)
		c := b.srv.Conversations()[0]
		require.Equal(t, 1, c.Pauses, tc.name)
		require.Equal(t, "paused", c.Status, tc.name)
		require.Equal(t, tc.wantDeleted, c.Deleted, tc.name)
	}
}

func TestReattachAfterWorkerRestart(t *testing.T) {
	t.Parallel()
	// First worker: the conversation runs, the worker goes away (cancelled,
	// keeping the conversation as a crashed worker would).
	b := setup(t, openhandstest.Options{Choose: func(s openhandstest.Start) openhandstest.Scenario {
		return openhandstest.Scenario{Steps: 6, FilesFunc: fixtureFiles}
	}})
	b.cfg.KeepOnCancel = true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := b.agent(t).Run(ctx, b.task); done <- err }()
	<-b.prog.first
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	first := b.srv.Conversations()[0]

	// Second worker, next attempt, same task state: it re-attaches.
	b.task.Attempt = 2
	rep, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.Len(t, b.srv.Conversations(), 1, "one conversation, not two")
	require.Equal(t, 1, b.srv.Creates(), "the second worker did not even ask to create")
	require.Equal(t, first.ID, rep.Details["conversation_id"])
	require.Contains(t, b.log.String(), "re-attached")
}

func TestCreateUsesTheIDRecordedBeforeAWorkerDied(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{})
	// The worker records the ID, then dies before its POST.
	ctx, cancel := context.WithCancel(context.Background())
	b.task.State = &dyingState{inner: b.state, die: cancel}
	_, err := b.agent(t).Run(ctx, b.task)
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, b.srv.Conversations())
	recorded, ok, err := b.state.Get(context.Background(), "openhands")
	require.NoError(t, err)
	require.True(t, ok)

	b.task.State = b.state
	rep, err := b.agent(t).Run(context.Background(), b.task)
	require.NoError(t, err)
	require.Contains(t, recorded, rep.Details["conversation_id"], "created under the ID recorded before")
	require.Len(t, b.srv.Conversations(), 1)
}

// dyingState records, then kills its worker (cancels its context).
type dyingState struct {
	inner agent.StateStore
	die   func()
}

func (s *dyingState) Get(ctx context.Context, k string) (string, bool, error) {
	return s.inner.Get(ctx, k)
}

func (s *dyingState) Put(ctx context.Context, k, v string) error {
	err := s.inner.Put(ctx, k, v)
	s.die()
	return err
}

func TestSameTaskIDFromAnotherDatabaseGetsItsOwnConversation(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{})
	a := b.agent(t)
	_, err := a.Run(context.Background(), b.task)
	require.NoError(t, err)

	// Another handoff database, same task ID, same server: its derived ID is
	// taken, so it must not adopt the other task's conversation.
	other := agenttest.NewFixture(t, "go")
	other.Task.ID, other.Task.Log, other.Task.Progress = b.task.ID, b.log, func(string) {}
	rep, err := a.Run(context.Background(), other.Task)
	require.NoError(t, err)
	convs := b.srv.Conversations()
	require.Len(t, convs, 2)
	require.Equal(t, convs[1].ID, rep.Details["conversation_id"])
	require.Equal(t, other.Task.Dir, convs[1].WorkingDir)
	require.Equal(t, goTest, readFile(t, other.Task.Dir, "calc_test.go"))
}

func TestSecretsEchoedByTheServerAreScrubbed(t *testing.T) {
	t.Parallel()
	b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.Fail,
		ErrorCode: "RuntimeError", ErrorDetail: "request with api_key=" + llmKey + " refused"}})
	rep, err := b.agent(t).Run(context.Background(), b.task)
	require.ErrorIs(t, err, openhands.ErrConversation)
	require.ErrorContains(t, err, "api_key=[redacted] refused")
	repJSON, _ := json.Marshal(rep)
	b.requireNoSecrets(t, err.Error(), string(repJSON))
}

func TestReattachFromAnotherAttemptDirectory(t *testing.T) {
	t.Parallel()
	for _, gone := range []bool{false, true} {
		b := setup(t, openhandstest.Options{Scenario: openhandstest.Scenario{Steps: 6, FilesFunc: fixtureFiles}})
		b.cfg.KeepOnCancel = true
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { _, err := b.agent(t).Run(ctx, b.task); done <- err }()
		<-b.prog.first
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		oldDir := b.task.Dir

		// The next attempt works in a fresh copy of the snapshot.
		next := agenttest.NewFixture(t, "go")
		next.Task.ID, next.Task.Attempt, next.Task.State = b.task.ID, 2, b.state
		next.Task.Log, next.Task.Progress = b.log, func(string) {}
		if gone {
			require.NoError(t, os.RemoveAll(oldDir))
		}
		rep, err := b.agent(t).Run(context.Background(), next.Task)
		require.NoError(t, err)
		require.Equal(t, goTest, readFile(t, next.Task.Dir, "calc_test.go"), "the agent's work reached this attempt's directory")
		convs := b.srv.Conversations()
		if gone {
			require.Len(t, convs, 2, "the old conversation's directory is gone: a fresh conversation")
			require.True(t, convs[0].Deleted)
			require.Equal(t, next.Task.Dir, convs[1].WorkingDir)
		} else {
			require.Len(t, convs, 1, "re-attached")
			require.Equal(t, []string{"calc_test.go"}, rep.Details["files"])
		}
	}
}
