package handoff_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/agent/llm"
	"github.com/handoff-dev/handoff/agent/llm/llmtest"
	"github.com/handoff-dev/handoff/internal/testenv"
)

const llmKey = "sk-e2e-7f3a9c1d2b4e6f80-do-not-leak"

// llmRounds scripts a stand-in for a two-round run: round 1's file has a
// good test, a failing one and one without assertions; round 2 keeps the
// good test as it is and repairs the other two.
func llmRounds(t *testing.T, lang, round1, round2 string) (*llmtest.Server, llm.Config) {
	t.Helper()
	srv := llmtest.New(t,
		llmtest.Reply{Content: "Tests:\n```" + lang + "\n" + round1 + "```\n", Model: "gpt-4o-mini-2024-07-18"},
		llmtest.Reply{Content: "Repaired:\n```" + lang + "\n" + round2 + "```\n", Model: "gpt-4o-mini-2024-07-18"},
	)
	srv.Key = llmKey
	return srv, llm.Config{BaseURL: srv.URL, APIKey: llmKey, Model: "gpt-4o-mini", MaxRetries: 1}
}

// requireNoKey fails if the API key is anywhere in the workspace (the
// database, logs, applied files) or in the result.
func requireNoKey(t *testing.T, ws string, res *handoff.Result) {
	t.Helper()
	b, err := json.Marshal(res)
	require.NoError(t, err)
	require.NotContains(t, string(b), llmKey)
	require.NoError(t, filepath.WalkDir(ws, func(p string, d os.DirEntry, err error) error {
		// A file may vanish while we walk: the worker releases the task's
		// snapshot ref after the result, and git's packed-refs.lock comes
		// and goes with it.
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		body, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		require.NotContains(t, string(body), llmKey, "the API key leaked into %s", p)
		return nil
	}))
	if res.LogPath != "" {
		body, err := os.ReadFile(res.LogPath)
		require.NoError(t, err)
		require.NotContains(t, string(body), llmKey)
		require.Contains(t, string(body), "[llm]", "the agent's transcript is in the task log")
	}
}

func TestLLMTwoRoundsGo(t *testing.T) {
	t.Parallel()
	const round1 = `package calc

import "testing"

func TestAdd(t *testing.T) {
	if Add(2, 3) != 5 {
		t.Fatal("Add(2, 3) != 5")
	}
}

func TestAbsWrong(t *testing.T) {
	if Abs(-4) != 5 {
		t.Fatal("Abs(-4) != 5")
	}
}

func TestDivRuns(t *testing.T) {
	Div(6, 3)
}
`
	srv, cfg := llmRounds(t, "go", round1, agenttest.GoModuleTests)
	ws := goWorkspace(t)
	c := open(t, ws, llm.New(cfg))
	res, err := c.Generate(context.Background(), handoff.Request{Module: "calc.go", MaxRounds: 3},
		handoff.WaitOptions{Timeout: 5 * time.Minute})
	require.NoError(t, err)
	require.True(t, res.Success, "%+v", res)
	require.Equal(t, 2, res.Rounds)
	require.ElementsMatch(t, []string{"TestAdd", "TestAbs", "TestDiv"}, res.Tests.Kept)
	require.GreaterOrEqual(t, res.Coverage.After, 80.0)
	reasons := map[string]string{}
	for _, d := range res.Tests.Dropped {
		reasons[d.Name] = d.Reason
	}
	require.Equal(t, map[string]string{"TestAbsWrong": "failed", "TestDivRuns": "no_assertion"}, reasons)
	require.Equal(t, "gpt-4o-mini-2024-07-18", res.Agent.Model, "the model that wrote the kept tests")
	require.Contains(t, res.Agent.Details, "total_cost_usd")
	require.Greater(t, res.Agent.Details["total_cost_usd"], 0.0)

	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	first, second := reqs[0].Prompt(), reqs[1].Prompt()
	require.Contains(t, first, "func Div(a, b int) (int, error)", "round 1 carries the module's source")
	require.Contains(t, first, "- calc.go:6", "round 1 names the uncovered lines")
	for _, want := range []string{"TestAbsWrong: failed", "TestDivRuns: no_assertion", "Abs(-4) != 5",
		"## Uncovered lines", "- calc.go:9-", "- calc.go:17-", "Copy the tests already in it unchanged"} {
		require.Contains(t, second, want, "round 2's prompt")
	}
	require.NotContains(t, second, "- calc.go:6:", "Add is covered after round 1")
	for _, r := range reqs {
		require.Equal(t, "Bearer "+llmKey, r.Header.Get("Authorization"))
	}
	requireNoKey(t, ws, res)
}

func TestLLMTwoRoundsPython(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/bin/python3"); err != nil || exec.Command("/usr/bin/python3", "-c", "import pytest, coverage").Run() != nil {
		testenv.Missing(t, "pytest and coverage.py", "apt-get install python3-pytest python3-coverage")
	}
	const round1 = "from pkg.calc import add, absolute\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n" +
		"def test_absolute_wrong():\n    assert absolute(-2) == 3\n\n\ndef test_absolute_runs():\n    absolute(5)\n"
	const round2 = "from pkg.calc import add, absolute\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n" +
		"def test_absolute():\n    assert absolute(-2) == 2\n    assert absolute(3) == 3\n"
	srv, cfg := llmRounds(t, "python", round1, round2)
	ws := testenv.GitRepo(t, map[string]string{"pkg/__init__.py": "", "pkg/calc.py": agenttest.PythonModule})
	c := open(t, ws, llm.New(cfg))
	res, err := c.Generate(context.Background(), handoff.Request{Module: "pkg/calc.py", MaxRounds: 3},
		handoff.WaitOptions{Timeout: 5 * time.Minute})
	require.NoError(t, err)
	require.True(t, res.Success, "%+v", res)
	require.Equal(t, 2, res.Rounds)
	out := "tests/pkg/test_calc.py"
	require.ElementsMatch(t, []string{out + "::test_add", out + "::test_absolute"}, res.Tests.Kept)
	require.Equal(t, 100.0, res.Coverage.After)
	reasons := map[string]string{}
	for _, d := range res.Tests.Dropped {
		reasons[d.Name] = d.Reason
	}
	require.Equal(t, map[string]string{out + "::test_absolute_wrong": "failed", out + "::test_absolute_runs": "no_assertion"}, reasons)
	require.Equal(t, "gpt-4o-mini-2024-07-18", res.Agent.Model)

	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	second := reqs[1].Prompt()
	for _, want := range []string{"test_absolute_wrong: failed", "test_absolute_runs: no_assertion",
		"## Uncovered lines", "- pkg/calc.py:6-8", "def test_add():"} {
		require.True(t, strings.Contains(second, want), "round 2's prompt lacks %q; it ends:\n%s", want, second[max(0, len(second)-1500):])
	}
	requireNoKey(t, ws, res)
}

// TestLLMBudgetStopsBeforeOverspending: round 1 costs what it costs; the
// budget leaves no room for round 2's worst case, so no second call is
// made, the round adds nothing and the tests kept so far stay.
func TestLLMBudgetStopsBeforeOverspending(t *testing.T) {
	t.Parallel()
	const round1 = "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(2, 3) != 5 {\n\t\tt.Fatal(\"Add\")\n\t}\n}\n"
	srv := llmtest.New(t, llmtest.Reply{Content: "```go\n" + round1 + "```\n", PromptTokens: 1000, CompletionTokens: 500})
	var mu sync.Mutex
	extra := 0
	srv.Handle(func(llmtest.Request) llmtest.Reply {
		mu.Lock()
		defer mu.Unlock()
		extra++
		return llmtest.Reply{Content: "```go\n" + agenttest.GoModuleTests + "```\n"}
	})
	// gpt-4o: $2.50 in, $10 out per million. Round 1 costs $0.0075; the
	// worst case of round 2 (about 1k prompt tokens + 1000 answer tokens)
	// is over $0.01 and the budget is $0.012.
	cfg := llm.Config{BaseURL: srv.URL, APIKey: llmKey, Model: "gpt-4o", MaxOutputTokens: 1000}
	ws := goWorkspace(t)
	c := open(t, ws, llm.New(cfg))
	res, err := c.Generate(context.Background(), handoff.Request{Module: "calc.go", MaxRounds: 2, BudgetUSD: 0.012},
		handoff.WaitOptions{Timeout: 5 * time.Minute})
	require.NoError(t, err)
	require.False(t, res.Success)
	require.Equal(t, []string{"TestAdd"}, res.Tests.Kept, "round 1's kept test stays")
	require.Len(t, srv.Requests(), 1, "no call once the budget cannot cover it")
	require.Zero(t, extra)
	require.InDelta(t, 0.0075, res.Agent.Details["total_cost_usd"], 1e-9)
	require.Contains(t, res.Agent.Details["stopped"], "budget exhausted")
	require.LessOrEqual(t, res.Agent.Details["total_cost_usd"], 0.012)
	require.True(t, strings.Contains(res.Agent.Summary, "added nothing"), res.Agent.Summary)
}

// TestLLMStopsWhenARoundAddsNothing: a model that answers a repair round
// with the file it already had (no new test) ends the rounds there, not at
// --max-rounds, and the result says why.
func TestLLMStopsWhenARoundAddsNothing(t *testing.T) {
	t.Parallel()
	const onlyAdd = "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(2, 3) != 5 {\n\t\tt.Fatal(\"Add\")\n\t}\n}\n"
	srv := llmtest.New(t)
	srv.Key = llmKey
	srv.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Content: "```go\n" + onlyAdd + "```\n"} })
	cfg := llm.Config{BaseURL: srv.URL, APIKey: llmKey, Model: "gpt-4o-mini", MaxRetries: 1}
	ws := goWorkspace(t)
	c := open(t, ws, llm.New(cfg))
	res, err := c.Generate(context.Background(), handoff.Request{Module: "calc.go", MaxRounds: 4},
		handoff.WaitOptions{Timeout: 5 * time.Minute})
	require.NoError(t, err)
	require.Equal(t, handoff.StateCompleted, res.State, res.Error)
	require.False(t, res.Success, "TestAdd alone is under the threshold")
	require.Equal(t, []string{"TestAdd"}, res.Tests.Kept)
	require.Equal(t, 2, res.Rounds, "round 2 added nothing: no round 3 or 4")
	require.Len(t, srv.Requests(), 2)
	require.EqualValues(t, 0, res.Agent.Details["added_tests"])
	require.Contains(t, res.Agent.Summary, "Repair rounds stopped after round 2 of 4: the agent added no test.")
	requireNoKey(t, ws, res)
}

// TestLLMFaultsEndToEnd: through the runner, a rate limit is waited out and a
// model that refuses twice ends the task as FAILED with that reason.
func TestLLMFaultsEndToEnd(t *testing.T) {
	t.Parallel()
	t.Run("429 then success", func(t *testing.T) {
		t.Parallel()
		srv := llmtest.New(t, llmtest.Reply{Status: 429, RetryAfter: "1"},
			llmtest.Reply{Content: "```go\n" + agenttest.GoModuleTests + "```\n"})
		srv.Key = llmKey
		ws := goWorkspace(t)
		c := open(t, ws, llm.New(llm.Config{BaseURL: srv.URL, APIKey: llmKey, Model: "gpt-4o-mini"}))
		res, err := c.Generate(context.Background(), handoff.Request{Module: "calc.go"}, handoff.WaitOptions{Timeout: 5 * time.Minute})
		require.NoError(t, err)
		require.True(t, res.Success, "%+v", res)
		require.EqualValues(t, 1, res.Agent.Details["retries"], "the 429 was retried after Retry-After")
		require.Len(t, srv.Requests(), 2)
		requireNoKey(t, ws, res)
	})
	t.Run("refused twice", func(t *testing.T) {
		t.Parallel()
		srv := llmtest.New(t, llmtest.Reply{Refusal: "I can't help with that."}, llmtest.Reply{Refusal: "No."})
		ws := goWorkspace(t)
		c := open(t, ws, llm.New(llm.Config{BaseURL: srv.URL, APIKey: llmKey, Model: "gpt-4o-mini"}))
		res, err := c.Generate(context.Background(), handoff.Request{Module: "calc.go"}, handoff.WaitOptions{Timeout: 5 * time.Minute})
		require.NoError(t, err)
		require.Equal(t, handoff.StateFailed, res.State)
		require.Contains(t, res.Error, "the model refused")
		require.Equal(t, 1, res.Attempts, "a refusal is not retried")
		requireNoKey(t, ws, res)
	})
}
