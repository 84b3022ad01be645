package llm_test

import (
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
	"github.com/handoff-dev/handoff/agent/llm"
	"github.com/handoff-dev/handoff/agent/llm/llmtest"
)

var goodGo = llmtest.Reply{Content: fenced("go", agenttest.GoModuleTests)}

// TestFaults: every fault ends in its documented state, the file is written
// only from a usable answer, and the key never reaches the log or the error.
func TestFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		replies  []llmtest.Reply
		tweak    func(*llm.Config)
		wantErr  error // nil: the run succeeds and writes the file
		transien bool
		calls    int
		logHas   string
		lastHas  string // in the last request's prompt
	}{
		{name: "429 then success", calls: 2, logHas: `HTTP 429 (Retry-After "0")`,
			replies: []llmtest.Reply{{Status: 429, RetryAfter: "0"}, goodGo}},
		{name: "5xx then success", calls: 2, logHas: "HTTP 503",
			replies: []llmtest.Reply{{Status: 503}, goodGo}},
		{name: "5xx until retries run out", calls: 3, wantErr: llm.ErrUnavailable, transien: true,
			replies: []llmtest.Reply{{Status: 500}, {Status: 502}, {Status: 503}}},
		{name: "timeout", calls: 3, wantErr: llm.ErrUnavailable, transien: true,
			tweak:   func(c *llm.Config) { c.RequestTimeout = 300 * time.Millisecond },
			replies: []llmtest.Reply{{Hang: true}, {Hang: true}, {Hang: true}}},
		{name: "fallback model after 5xx", calls: 4, logHas: "falling back to gpt-4.1-mini",
			tweak:   func(c *llm.Config) { c.Models = []string{"gpt-4.1-mini"} },
			replies: []llmtest.Reply{{Status: 500}, {Status: 500}, {Status: 500}, goodGo}},
		{name: "unknown model falls back", calls: 2,
			tweak: func(c *llm.Config) { c.Models = []string{"gpt-4.1-mini"} },
			replies: []llmtest.Reply{{Status: 404, ErrCode: "model_not_found", ErrMessage: "The model `x` does not exist"},
				goodGo}},
		{name: "key refused", calls: 1, wantErr: llm.ErrUnauthorized,
			replies: []llmtest.Reply{{Status: 401, ErrCode: "invalid_api_key", ErrMessage: "Incorrect API key provided: " + testKey}}},
		{name: "bad request", calls: 1, wantErr: llm.ErrRequest,
			replies: []llmtest.Reply{{Status: 400, ErrMessage: "max_tokens is too large"}}},
		{name: "refusal then file", calls: 2, lastHas: "ordinary unit tests",
			replies: []llmtest.Reply{{Refusal: "I can't help with that."}, goodGo}},
		{name: "refusal twice", calls: 2, wantErr: llm.ErrRefused,
			replies: []llmtest.Reply{{Refusal: "I can't help with that."}, {Refusal: "No."}}},
		{name: "content filter twice", calls: 2, wantErr: llm.ErrRefused,
			replies: []llmtest.Reply{{FinishReason: "content_filter"}, {FinishReason: "content_filter"}}},
		{name: "truncated then file", calls: 2, lastHas: "cut at the token limit",
			replies: []llmtest.Reply{{Content: "```go\npackage calc\n\nfunc TestA", FinishReason: "length"}, goodGo}},
		{name: "truncated twice", calls: 2, wantErr: llm.ErrTruncated,
			replies: []llmtest.Reply{{Content: "```go\npackage", FinishReason: "length"}, {Content: "```go\n", FinishReason: "length"}}},
		{name: "empty twice", calls: 2, wantErr: llm.ErrEmpty,
			replies: []llmtest.Reply{{Content: ""}, {Content: "  \n"}}},
		{name: "two blocks then file", calls: 2, lastHas: "exactly one fenced code block, found 2",
			replies: []llmtest.Reply{{Content: fenced("go", agenttest.GoModuleTests) + fenced("go", agenttest.GoModuleTests)}, goodGo}},
		{name: "no code twice", calls: 2, wantErr: llm.ErrMalformed,
			replies: []llmtest.Reply{{Content: "Sure, I will write tests."}, {Content: "Done."}}},
		{name: "invalid Go twice", calls: 2, wantErr: llm.ErrMalformed,
			replies: []llmtest.Reply{{Content: fenced("go", "package calc\nfunc TestX(t *testing.T) {\n")}, {Content: fenced("go", "func (")}}},
		{name: "not a chat completion", calls: 1, wantErr: llm.ErrMalformed,
			replies: []llmtest.Reply{{Raw: "<html>502 Bad Gateway</html>"}}},
		{name: "streamed", calls: 1, tweak: func(c *llm.Config) { c.Stream = true }, replies: []llmtest.Reply{goodGo}},
		{name: "streamed refusal then file", calls: 2, tweak: func(c *llm.Config) { c.Stream = true },
			replies: []llmtest.Reply{{Refusal: "I can't help with that."}, goodGo}},
		{name: "json", calls: 1, tweak: func(c *llm.Config) { c.Format = llm.FormatJSON },
			replies: []llmtest.Reply{{Content: jsonFile(agenttest.GoModuleTests)}}},
		{name: "json refused by the endpoint falls back to fenced", calls: 2, logHas: "asking for a fenced code block",
			tweak:   func(c *llm.Config) { c.Format = llm.FormatJSON },
			replies: []llmtest.Reply{{Status: 400, ErrMessage: "response_format json_schema is not supported for this model"}, goodGo}},
		{name: "json with an unknown field twice", calls: 2, wantErr: llm.ErrMalformed,
			tweak:   func(c *llm.Config) { c.Format = llm.FormatJSON },
			replies: []llmtest.Reply{{Content: `{"file": "x", "notes": "", "extra": 1}`}, {Content: `{"notes": ""}`}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.replies...)
			if tc.tweak != nil {
				tc.tweak(&b.cfg)
			}
			fx := agenttest.NewFixture(t, "go")
			rep, err := llm.New(b.cfg).Run(context.Background(), fx.Task)
			log := logOf(fx.Task)
			require.NotContains(t, log, testKey)
			require.Equal(t, tc.calls, len(b.srv.Requests()), log)
			if tc.wantErr == nil {
				require.NoError(t, err, log)
				require.Equal(t, []string{"calc_test.go"}, fx.Changed(t))
				require.NotEmpty(t, rep.Model)
			} else {
				require.ErrorIs(t, err, tc.wantErr, log)
				require.Equal(t, tc.transien, agent.IsTransient(err), "transient: %v", err)
				require.NotContains(t, err.Error(), testKey)
				require.Empty(t, fx.Changed(t), "a failed run writes nothing")
			}
			if tc.logHas != "" {
				require.Contains(t, log, tc.logHas)
			}
			if tc.lastHas != "" {
				reqs := b.srv.Requests()
				require.Contains(t, reqs[len(reqs)-1].Prompt(), tc.lastHas)
			}
		})
	}
}

func jsonFile(src string) string {
	return `{"file": ` + strings.ReplaceAll(strings.ReplaceAll(`"`+strings.ReplaceAll(strings.ReplaceAll(src, `\`, `\\`), `"`, `\"`)+`"`, "\n", `\n`), "\t", `\t`) + `, "notes": "covers Add, Abs and Div"}`
}

// TestCircuitBreaker: after BreakerFailures failed calls in a row the
// endpoint is not called again until the cooldown passes.
func TestCircuitBreaker(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.srv.Handle(func(llmtest.Request) llmtest.Reply { return llmtest.Reply{Status: 500} })
	b.cfg.MaxRetries, b.cfg.BreakerFailures, b.cfg.BreakerCooldown = -1, 2, time.Hour
	a := llm.New(b.cfg)
	for range 2 {
		_, err := a.Run(context.Background(), agenttest.NewFixture(t, "go").Task)
		require.ErrorIs(t, err, llm.ErrUnavailable)
	}
	require.Equal(t, 2, len(b.srv.Requests()))
	_, err := a.Run(context.Background(), agenttest.NewFixture(t, "go").Task)
	require.ErrorIs(t, err, llm.ErrCircuitOpen)
	require.True(t, agent.IsTransient(err))
	require.Equal(t, 2, len(b.srv.Requests()), "an open circuit sends nothing")
}

// TestRepairRoundFaultKeepsKeptTests: in a repair round an unusable answer
// ends the round without a change, so the tests kept so far stay; an
// answer that rewrites a kept test is asked for again.
func TestRepairRoundFaultKeepsKeptTests(t *testing.T) {
	t.Parallel()
	kept := agenttest.GoModuleTests[:strings.Index(agenttest.GoModuleTests, "func TestAbs")]
	rewritten := strings.Replace(agenttest.GoModuleTests, `Add(2, 3) != 5`, `Add(1, 1) != 2`, 1)
	repair := func(t *testing.T) *agenttest.Fixture {
		fx := agenttest.NewFixture(t, "go")
		require.NoError(t, os.WriteFile(filepath.Join(fx.Task.Dir, "calc_test.go"), []byte(kept), 0o644))
		fx.Task.Round = 2
		fx.Task.Feedback = &agent.Feedback{Kept: []string{"TestAdd"}, Dropped: []agent.Dropped{{Name: "TestAbsWrong", Reason: "failed"}}}
		return fx
	}

	t.Run("rewrite then additions", func(t *testing.T) {
		t.Parallel()
		b := setup(t, llmtest.Reply{Content: fenced("go", rewritten)}, goodGo)
		fx := repair(t)
		rep, err := llm.New(b.cfg).Run(context.Background(), fx.Task)
		require.NoError(t, err)
		reqs := b.srv.Requests()
		require.Equal(t, 2, len(reqs))
		require.Contains(t, reqs[0].Prompt(), "TestAbsWrong: failed")
		require.Contains(t, reqs[1].Prompt(), "changed or removed tests that verification kept (TestAdd)")
		got, _ := os.ReadFile(filepath.Join(fx.Task.Dir, "calc_test.go"))
		require.Equal(t, agenttest.GoModuleTests, string(got))
		require.Equal(t, 2, rep.Details["added_tests"], "TestAbs and TestDiv")
	})
	t.Run("refused twice adds nothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, llmtest.Reply{Refusal: "no"}, llmtest.Reply{Refusal: "no"})
		fx := repair(t)
		rep, err := llm.New(b.cfg).Run(context.Background(), fx.Task)
		require.NoError(t, err)
		require.Contains(t, rep.Details["stopped"], llm.ErrRefused.Error())
		require.Equal(t, 0, rep.Details["added_tests"])
		got, _ := os.ReadFile(filepath.Join(fx.Task.Dir, "calc_test.go"))
		require.Equal(t, kept, string(got))
	})
}

// TestBudgetAcrossRounds: the spend is recorded with the task, so a new
// round (or attempt) sees what earlier ones cost.
func TestBudgetAcrossRounds(t *testing.T) {
	t.Parallel()
	b := setup(t, llmtest.Reply{Content: goodGo.Content, PromptTokens: 2000, CompletionTokens: 1000})
	b.cfg.Model, b.cfg.MaxOutputTokens = "gpt-4o", 1000
	a := llm.New(b.cfg)
	fx := agenttest.NewFixture(t, "go")
	fx.Task.BudgetUSD = 0.03
	rep, err := a.Run(context.Background(), fx.Task)
	require.NoError(t, err)
	require.InDelta(t, 0.015, rep.Details["cost_usd"], 1e-9) // 2000×2.5 + 1000×10 per million
	fx2 := agenttest.NewFixture(t, "go")
	fx2.Task.State, fx2.Task.BudgetUSD = fx.Task.State, 0.02
	_, err = a.Run(context.Background(), fx2.Task)
	require.ErrorIs(t, err, llm.ErrBudget)
	require.Equal(t, 1, len(b.srv.Requests()))
}

// TestLargeModuleIsCut: a module over the context budget is sent with only
// its uncovered functions in full.
func TestLargeModuleIsCut(t *testing.T) {
	t.Parallel()
	b := setup(t, goodGo)
	b.cfg.ContextTokens, b.cfg.MaxOutputTokens = 6000, 1000
	fx := agenttest.NewFixture(t, "go")
	var big, calls strings.Builder
	big.WriteString(agenttest.GoModule)
	for i := range 100 {
		fmt.Fprintf(&big, "\nfunc Pad%d() int {\n\tx := 1\n%s\treturn x\n}\n", i, strings.Repeat("\tx++\n\tx--\n", 6))
		fmt.Fprintf(&calls, "Pad%d, ", i)
	}
	require.NoError(t, os.WriteFile(filepath.Join(fx.Task.Dir, "calc.go"), []byte(big.String()), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(fx.Task.Dir, "calc_extra_test.go"), []byte("package calc\n\n"+
		"import \"testing\"\n\nfunc TestPads(t *testing.T) {\n\tfor _, f := range []func() int{"+calls.String()+"} {\n"+
		"\t\tif f() != 1 {\n\t\t\tt.Fatal()\n\t\t}\n\t}\n}\n"), 0o644))
	_, err := llm.New(b.cfg).Run(context.Background(), fx.Task)
	require.NoError(t, err, logOf(fx.Task))
	p := b.srv.Requests()[0].Prompt()
	require.Contains(t, p, "body omitted: covered")
	require.Contains(t, p, "if b == 0 {", "uncovered functions stay whole")
	require.Contains(t, logOf(fx.Task), "cut to its uncovered functions")
}

// TestCheck: a missing key or model is a clear error before any task runs.
func TestCheck(t *testing.T) {
	t.Parallel()
	require.ErrorContains(t, llm.New(llm.Config{Model: "m"}).Check(), "LLM_API_KEY")
	_, err := llm.New(llm.Config{APIKey: "k"}).Run(context.Background(), agenttest.NewFixture(t, "go").Task)
	require.ErrorContains(t, err, "LLM_MODEL", "the model may come with the task")
	require.ErrorContains(t, llm.New(llm.Config{APIKey: "k", Model: "m", Format: "xml"}).Check(), "LLM_FORMAT")
	require.NoError(t, llm.New(llm.Config{APIKey: "k", Model: "m"}).Check())
}
