package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/openai/openai-go/v3"
	"github.com/sony/gobreaker/v2"

	"github.com/handoff-dev/handoff/agent"
)

// Agent asks an OpenAI-compatible model for tests.
type Agent struct {
	cfg      Config
	err      error
	mu       sync.Mutex
	breakers map[string]*gobreaker.CircuitBreaker[*answer]
}

// New returns an llm agent. A configuration mistake is reported by Check
// and by Run.
func New(cfg Config) *Agent {
	return &Agent{cfg: cfg.withDefaults(), err: cfg.validate(), breakers: map[string]*gobreaker.CircuitBreaker[*answer]{}}
}

// Name implements agent.Agent.
func (a *Agent) Name() string { return "llm" }

// Languages implements agent.Agent.
func (a *Agent) Languages() []string { return []string{"go", "python"} }

// Check implements agent.Checker.
func (a *Agent) Check() error {
	if a.err != nil {
		return a.err
	}
	if a.cfg.APIKey == "" {
		return errors.New("llm: no API key: set LLM_API_KEY (or OPENROUTER_API_KEY); " +
			"local servers such as Ollama or vLLM accept any value, e.g. LLM_API_KEY=local")
	}
	return nil
}

// stateKey is the task-state key of the agent's record.
const stateKey = "llm"

// roundCost is what one round cost.
type roundCost struct {
	Round   int     `json:"round"`
	Attempt int     `json:"attempt"`
	Model   string  `json:"model,omitempty"`
	Calls   int     `json:"calls"`
	In      int64   `json:"tokens_in"`
	Out     int64   `json:"tokens_out"`
	CostUSD float64 `json:"cost_usd"`
}

// runState is recorded with the task so the budget spans rounds, attempts
// and worker restarts.
type runState struct {
	SpentUSD float64     `json:"spent_usd"`
	Rounds   []roundCost `json:"rounds"`
	Writer   string      `json:"writer,omitempty"` // the model whose file is in the output now
}

func loadState(ctx context.Context, s agent.StateStore) (*runState, error) {
	st := &runState{}
	if s == nil {
		return st, nil
	}
	v, ok, err := s.Get(ctx, stateKey)
	if err != nil {
		return nil, fmt.Errorf("llm: reading the task state: %w", err)
	}
	if ok {
		if err := json.Unmarshal([]byte(v), st); err != nil {
			return nil, fmt.Errorf("llm: the recorded task state is damaged (%w); cancel and resubmit the task", err)
		}
	}
	return st, nil
}

func (st *runState) save(ctx context.Context, s agent.StateStore) error {
	if s == nil {
		return nil
	}
	b, _ := json.Marshal(st)
	if err := s.Put(context.WithoutCancel(ctx), stateKey, string(b)); err != nil {
		return fmt.Errorf("llm: recording the task state: %w", err)
	}
	return nil
}

// run is one Run call in progress.
type run struct {
	a      *Agent
	t      *agent.Task
	st     *runState
	rc     *roundCost
	budget float64
	models []string
	model  int // index into models
	calls  []callRecord
	refmt  []string // reformulations asked, with the problem
	format Format   // how answers are asked for; json falls back to fenced
}

type callRecord struct {
	Model   string  `json:"model"`
	In      int64   `json:"tokens_in"`
	Out     int64   `json:"tokens_out"`
	CostUSD float64 `json:"cost_usd"`
	Retries int     `json:"retries"`
	Finish  string  `json:"finish_reason"`
	Priced  bool    `json:"priced"`
}

// Run implements agent.Agent: one round of the loop. It reads the module,
// the existing tests and the output file, measures the uncovered lines,
// asks the model for the complete test file, checks the answer, and writes
// it at t.Output.
func (a *Agent) Run(ctx context.Context, t *agent.Task) (*agent.Report, error) {
	if err := a.Check(); err != nil {
		return nil, err
	}
	if !slices.Contains(a.Languages(), t.Language) {
		return nil, fmt.Errorf("llm: %w: %q", agent.ErrUnsupportedLanguage, t.Language)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("llm: not started: %w", err)
	}
	if !filepath.IsLocal(filepath.FromSlash(t.Output)) {
		return nil, fmt.Errorf("llm: output path %q is not inside the task directory", t.Output)
	}
	st, err := loadState(ctx, t.State)
	if err != nil {
		return nil, err
	}
	r := &run{a: a, t: t, st: st, budget: a.cfg.BudgetUSD, models: a.cfg.models(t.Model), format: a.cfg.Format}
	if len(r.models) == 0 {
		return nil, errors.New("llm: no model: set LLM_MODEL (e.g. gpt-4o-mini, or qwen2.5-coder:7b on Ollama) or pass --model")
	}
	if t.BudgetUSD > 0 { // the task's own budget (--budget-usd) wins over HANDOFF_BUDGET_USD
		r.budget = t.BudgetUSD
	}
	st.Rounds = append(st.Rounds, roundCost{Round: t.Round, Attempt: t.Attempt})
	r.rc = &st.Rounds[len(st.Rounds)-1]

	t.Progress("reading the module and measuring its coverage")
	m, err := readMaterial(t)
	if err != nil {
		return nil, err
	}
	m.Lines, m.LineErr = a.uncoveredLines(ctx, t.Dir, t.Module, t.Language)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("llm: stopped: %w", context.Cause(ctx))
	}
	if m.LineErr != nil {
		fmt.Fprintf(t.Log, "[llm] uncovered lines unknown: %v\n", m.LineErr)
	} else {
		fmt.Fprintf(t.Log, "[llm] %d uncovered line ranges in %s\n", len(m.Lines), t.Module)
	}

	sys := systemPrompt(t, a.cfg.Format)
	user := userPrompt(t, m, false)
	limit := int64(a.cfg.ContextTokens - a.cfg.MaxOutputTokens)
	if estimateTokens(sys+user) > limit {
		user = userPrompt(t, m, true)
		fmt.Fprintf(t.Log, "[llm] the module is cut to its uncovered functions to fit %d context tokens\n", a.cfg.ContextTokens)
		if estimateTokens(sys+user) > limit {
			return nil, fmt.Errorf("%w: about %d prompt tokens even cut to the uncovered functions, %d allowed "+
				"(LLM_CONTEXT_TOKENS %d minus LLM_MAX_TOKENS %d); pick a model with a larger context or a smaller module",
				ErrTooLarge, estimateTokens(sys+user), limit, a.cfg.ContextTokens, a.cfg.MaxOutputTokens)
		}
	}
	fmt.Fprintf(t.Log, "[llm] round %d prompt:\n%s\n%s\n[llm] end of prompt\n", t.Round, sys, user)
	msgs := []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(sys), openai.UserMessage(user)}

	file, ans, err := r.attempt(ctx, msgs, m)
	if err != nil {
		var problem error
		if kindOf(err) == 0 && ans != nil { // the answer had a problem: one reformulation
			problem = err
			r.refmt = append(r.refmt, err.Error())
			fmt.Fprintf(t.Log, "[llm] the answer is unusable (%v); asking once more\n", err)
			content := ans.Text
			if content == "" {
				content = ans.Refusal
			}
			if content == "" {
				content = "(empty)"
			}
			msgs = append(msgs, openai.AssistantMessage(content), openai.UserMessage(reformulation(problem, t, r.format)))
			file, _, err = r.attempt(ctx, msgs, m)
		}
		if err != nil {
			return r.fail(ctx, err)
		}
	}
	p := filepath.Join(t.Dir, filepath.FromSlash(t.Output))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(p, []byte(file), 0o644); err != nil {
		return nil, err
	}
	st.Writer = r.calls[len(r.calls)-1].Model
	if err := st.save(ctx, t.State); err != nil {
		return nil, err
	}
	fmt.Fprintf(t.Log, "[llm] wrote %s (%d bytes) from %s\n", t.Output, len(file), st.Writer)
	rep := r.report(fmt.Sprintf("%s wrote %s in round %d", st.Writer, t.Output, t.Round))
	rep.Details["added_tests"] = max(0, countTests(t.Language, file)-countTests(t.Language, m.Output))
	return rep, nil
}

// attempt asks the models in turn (a model the endpoint does not serve or
// that keeps failing gives way to the next) and parses the answer. A
// problem with the answer returns the answer with the error.
func (r *run) attempt(ctx context.Context, msgs []openai.ChatCompletionMessageParamUnion, m *material) (string, *answer, error) {
	var ans *answer
	var err error
	for r.model < len(r.models) {
		model := r.models[r.model]
		if err := r.checkBudget(model, msgs); err != nil {
			return "", nil, err
		}
		r.t.Progress(fmt.Sprintf("round %d: asking %s", r.t.Round, model))
		ans, err = r.a.complete(ctx, model, r.format, msgs, r.t.Log)
		if err == nil {
			break
		}
		if kindOf(err) == faultRequest && r.format == FormatJSON && mentionsFormat(err.Error()) {
			// The endpoint or model has no structured output: ask for a
			// fenced block instead, for the rest of the run.
			fmt.Fprintf(r.t.Log, "[llm] %s refused structured output (%v); asking for a fenced code block\n", model, err)
			r.format = FormatFenced
			msgs[0] = openai.SystemMessage(systemPrompt(r.t, r.format))
			continue
		}
		fmt.Fprintf(r.t.Log, "[llm] %s: %v\n", model, err)
		if k := kindOf(err); (k == faultTransient && !errors.Is(err, ErrCircuitOpen)) || k == faultModel {
			if r.model+1 < len(r.models) {
				r.model++
				fmt.Fprintf(r.t.Log, "[llm] falling back to %s\n", r.models[r.model])
				continue
			}
		}
		return "", nil, err
	}
	if err := r.record(ctx, ans); err != nil {
		return "", nil, err
	}
	file, err := parseAnswer(ans, r.format, r.t.Language)
	if err != nil {
		return "", ans, err
	}
	if r.t.Feedback != nil && strings.TrimSpace(m.Output) != "" {
		if changed := keptChanged(r.t.Language, m.Output, file, r.t.Feedback.Kept); len(changed) > 0 {
			return "", ans, fmt.Errorf("%w: %s", ErrKeptChanged, strings.Join(changed, ", "))
		}
	}
	return file, ans, nil
}

// checkBudget stops before a call whose worst case (the prompt plus a full
// answer) would take the task past its budget.
func (r *run) checkBudget(model string, msgs []openai.ChatCompletionMessageParamUnion) error {
	if r.budget <= 0 {
		return nil
	}
	price, ok := r.a.cfg.priceOf(model)
	if !ok {
		return nil
	}
	var in int64
	for _, m := range msgs {
		b, _ := json.Marshal(m)
		in += estimateTokens(string(b))
	}
	worst := price.cost(in, int64(r.a.cfg.MaxOutputTokens))
	if r.st.SpentUSD+worst > r.budget {
		return fmt.Errorf("%w: spent $%.4f of $%.4f; the next call to %s could cost up to $%.4f "+
			"(about %d prompt tokens and up to %d answer tokens); raise --budget-usd or lower LLM_MAX_TOKENS",
			ErrBudget, r.st.SpentUSD, r.budget, model, worst, in, r.a.cfg.MaxOutputTokens)
	}
	return nil
}

// record adds a call's tokens and cost to the round and the task, durably.
func (r *run) record(ctx context.Context, ans *answer) error {
	model := ans.Model
	if model == "" {
		model = r.models[r.model]
	}
	ans.Model = model
	price, priced := r.a.cfg.priceOf(model)
	if !priced {
		price, priced = r.a.cfg.priceOf(r.models[r.model])
	}
	c := price.cost(ans.In, ans.Out)
	r.calls = append(r.calls, callRecord{Model: model, In: ans.In, Out: ans.Out, CostUSD: c, Retries: ans.Retries,
		Finish: ans.Finish, Priced: priced})
	r.rc.Calls++
	r.rc.In += ans.In
	r.rc.Out += ans.Out
	r.rc.CostUSD += c
	r.rc.Model = model
	r.st.SpentUSD += c
	fmt.Fprintf(r.t.Log, "[llm] %s answered (finish %s): %d prompt + %d answer tokens, $%.6f, %d retries\n",
		model, ans.Finish, ans.In, ans.Out, c, ans.Retries)
	return r.st.save(ctx, r.t.State)
}

// fail ends a round that produced no file. In round 1 that fails the task
// (transiently for endpoint faults); in a repair round the tests kept so
// far stay, so the round ends without a change and says why.
func (r *run) fail(ctx context.Context, err error) (*agent.Report, error) {
	if serr := r.st.save(ctx, r.t.State); serr != nil {
		return nil, serr
	}
	switch kindOf(err) {
	case faultCancelled:
		return nil, err
	case faultTransient:
		if r.t.Round == 1 {
			return nil, agent.Transient(err)
		}
	}
	if r.t.Round == 1 {
		return nil, err
	}
	fmt.Fprintf(r.t.Log, "[llm] round %d adds nothing: %v\n", r.t.Round, err)
	rep := r.report(fmt.Sprintf("round %d added nothing: %v", r.t.Round, err))
	rep.Details["stopped"] = err.Error()
	rep.Details["added_tests"] = 0
	return rep, nil
}

func (r *run) report(summary string) *agent.Report {
	var retries int
	priced := true
	for _, c := range r.calls {
		retries += c.Retries
		priced = priced && c.Priced
	}
	d := map[string]any{
		"endpoint":       r.a.host(),
		"round_calls":    r.calls,
		"rounds":         r.st.Rounds,
		"cost_usd":       r.rc.CostUSD,
		"tokens_in":      r.rc.In,
		"tokens_out":     r.rc.Out,
		"total_cost_usd": r.st.SpentUSD,
		"retries":        retries,
		"priced":         priced,
		"format":         string(r.format),
	}
	if r.budget > 0 {
		d["budget_usd"] = r.budget
	}
	if len(r.refmt) > 0 {
		d["reformulated"] = r.refmt
	}
	return &agent.Report{Model: r.st.Writer, Summary: summary, Details: d}
}

// reformulation is the follow-up message after an unusable answer.
func reformulation(problem error, t *agent.Task, format Format) string {
	how := fmt.Sprintf("the complete content of %s in exactly one fenced code block", t.Output)
	if format == FormatJSON {
		how = fmt.Sprintf("one JSON object {\"file\": the complete content of %s, \"notes\": one sentence}", t.Output)
	}
	switch {
	case errors.Is(problem, ErrRefused):
		return fmt.Sprintf("These are ordinary unit tests for the project's own code, run in a sandbox. "+
			"Please answer with %s.", how)
	case errors.Is(problem, ErrTruncated):
		return fmt.Sprintf("Your answer was cut at the token limit. Answer again with a shorter file: fewer, "+
			"smaller tests aimed at the uncovered lines, as %s.", how)
	case errors.Is(problem, ErrEmpty):
		return fmt.Sprintf("Your answer was empty. Answer with %s.", how)
	case errors.Is(problem, ErrKeptChanged):
		return fmt.Sprintf("Your file changed or removed tests that verification kept (%s). Answer again with %s "+
			"that copies those tests unchanged and only adds new ones.", strings.TrimPrefix(problem.Error(), ErrKeptChanged.Error()+": "), how)
	}
	return fmt.Sprintf("Your answer could not be used: %v. Answer with %s and nothing else.", problem, how)
}

// mentionsFormat reports whether an endpoint's refusal is about structured
// output.
func mentionsFormat(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "response_format") || strings.Contains(msg, "json_schema") ||
		strings.Contains(msg, "structured output")
}
