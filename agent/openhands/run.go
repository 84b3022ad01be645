package openhands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/agent"
)

// Run creates (or re-attaches to) the task's conversation, follows it to
// its end, and brings the files the agent wrote into t.Dir.
func (a *Agent) Run(ctx context.Context, t *agent.Task) (*agent.Report, error) {
	if a.err != nil {
		return nil, a.err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("openhands: not started: %w", err)
	}
	if t.BudgetUSD > 0 { // the task's own budget (--budget-usd) wins over HANDOFF_BUDGET_USD
		withBudget := *a
		withBudget.cfg.BudgetUSD = t.BudgetUSD
		a = &withBudget
	}
	if !slices.Contains(a.Languages(), t.Language) {
		return nil, fmt.Errorf("openhands: %w: %q", agent.ErrUnsupportedLanguage, t.Language)
	}
	models := a.cfg.models(t.Model)
	if len(models) == 0 {
		if a.cfg.Target != TargetCloud {
			return nil, errors.New("openhands: no model: set LLM_MODEL (e.g. openrouter/anthropic/claude-sonnet-4) or pass --model")
		}
		models = []string{""} // Cloud: the account's default model
	}
	st, err := loadState(ctx, t.State, t.Round)
	if err != nil {
		return nil, err
	}
	readBy := a.readBy(ctx, t)
	collisions := 0
	for {
		st.ModelIndex = min(st.ModelIndex, len(models)-1)
		model := models[st.ModelIndex]
		if b := a.cfg.BudgetUSD; b > 0 && st.spent(st.ConversationID) >= b {
			return nil, fmt.Errorf("%w: the task's conversations cost $%.4f of the $%.4f budget (HANDOFF_BUDGET_USD)",
				ErrBudget, st.spent(""), b)
		}
		derived := st.ConversationID == ""
		if derived {
			st.ConversationID, st.StartTask = conversationID(t.ID, t.Round, st.Gen), ""
			if err := st.save(ctx, t.State); err != nil {
				return nil, err
			}
		}
		id, err := a.attach(ctx, t, st, model, derived)
		if (errors.Is(err, errForeign) || errors.Is(err, errStale)) && collisions < 10 {
			collisions++
			if err := a.fresh(ctx, t, st); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				a.cleanup(ctx, st.ConversationID)
				return nil, fmt.Errorf("openhands: cancelled: %w", ctx.Err())
			}
			return nil, a.classify(err)
		}
		o := a.follow(ctx, a.be, id, t, st.spent(id), model, readBy)
		st.Costs[id] = o.cost
		saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.CancelTimeout)
		serr := st.save(saveCtx, t.State)
		cancel()
		if serr != nil {
			return nil, serr
		}
		switch o.end {
		case endCancelled:
			a.cleanup(ctx, id)
			return nil, fmt.Errorf("openhands: cancelled: %w", o.err)
		case endFault:
			// The server keeps running the conversation (and billing for it)
			// while handoff cannot follow it: pause it, best effort. The next
			// attempt re-attaches and resumes it.
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.CancelTimeout)
			if err := a.be.pause(pctx, id); err != nil {
				a.cfg.Logger.WarnContext(ctx, "openhands: pausing a conversation handoff cannot follow failed",
					"conversation", id, "error", err)
			}
			cancel()
			return nil, a.classify(o.err)
		case endFinished:
			return a.finish(ctx, t, st, id, model, o, nil)
		case endLLMError:
			if st.ModelIndex+1 < len(models) {
				a.cfg.Logger.InfoContext(ctx, "openhands: LLM error, trying the next model", "conversation", id,
					"model", model, "next", models[st.ModelIndex+1], "detail", a.redact(o.detail))
				fmt.Fprintf(t.Log, "openhands: %s with model %s; next conversation uses %s\n", a.redact(o.detail), model,
					models[st.ModelIndex+1])
				st.ModelIndex++
				if err := a.fresh(ctx, t, st); err != nil {
					return nil, err
				}
				continue
			}
			err := fmt.Errorf("%w on every model tried (%s): %s; check LLM_API_KEY and LLM_MODEL, or add fallbacks to HANDOFF_MODELS",
				ErrLLM, strings.Join(models, ", "), a.redact(o.detail))
			if o.rateLimited {
				err = agent.Transient(err)
			}
			return a.stopped(ctx, t, st, id, model, o, err)
		case endRestart, endWedged:
			a.cfg.Logger.WarnContext(ctx, "openhands: conversation lost", "conversation", id, "detail", a.redact(o.detail))
			fmt.Fprintf(t.Log, "openhands: conversation %s lost: %s\n", id, a.redact(o.detail))
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.CancelTimeout)
			a.be.pause(pctx, id) //nolint:errcheck // best effort on a lost conversation
			cancel()
			left := a.cfg.BudgetUSD == 0 || st.spent("") < a.cfg.BudgetUSD
			if st.Retried < 1 && left && (t.Deadline.IsZero() || time.Now().Before(t.Deadline)) {
				st.Retried++
				if err := a.fresh(ctx, t, st); err != nil {
					return nil, err
				}
				continue
			}
			why := "a fresh conversation did not fare better"
			if st.Retried == 0 {
				why = "no time or budget was left for a fresh conversation"
			}
			return a.stopped(ctx, t, st, id, model, o,
				agent.Transient(fmt.Errorf("%w: %s; %s", ErrServerRestarted, a.redact(o.detail), why)))
		default:
			sentinel := map[ending]error{endMaxIterations: ErrMaxIterations, endStuck: ErrStuck, endBudget: ErrBudget,
				endDeadline: ErrDeadline, endError: ErrConversation, endConfirmation: ErrConversation}[o.end]
			return a.stopped(ctx, t, st, id, model, o, fmt.Errorf("%w: conversation %s: %s", sentinel, id, a.redact(o.detail)))
		}
	}
}

// readBy is when following must stop so that a share of the time left
// (ReadBackReserve) remains for reading the results back: the task's
// deadline or the context's, whichever is first. Zero means no deadline.
func (a *Agent) readBy(ctx context.Context, t *agent.Task) time.Time {
	deadline := t.Deadline
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	if deadline.IsZero() {
		return deadline
	}
	left := time.Until(deadline)
	return deadline.Add(-time.Duration(float64(max(left, 0)) * a.cfg.ReadBackReserve))
}

// errStale means a recorded conversation cannot be used any more.
var errStale = errors.New("openhands: the recorded conversation cannot be resumed")

// movedAway reports whether, in shared mode, the task directory of this
// attempt differs from the one the recorded conversation works in (the
// engine materialises a new directory per attempt).
func (a *Agent) movedAway(st *runState, t *agent.Task) bool {
	return a.cfg.Target == TargetAgentServer && a.cfg.Workspace != WorkspaceUpload && st.Dir != "" && st.Dir != t.Dir
}

// errForeign means a conversation exists under an ID this task derived but
// never recorded: another task (another handoff database using the same
// server) owns it.
var errForeign = errors.New("openhands: the derived conversation ID belongs to another task")

// attach finds the conversation recorded in st or creates it. derived says
// the ID was derived in this run rather than read from the task's state.
func (a *Agent) attach(ctx context.Context, t *agent.Task, st *runState, model string, derived bool) (string, error) {
	id := st.ConversationID
	if _, ok, err := a.be.find(ctx, id); err != nil {
		return "", err
	} else if ok && derived {
		return "", errForeign
	} else if ok {
		if a.movedAway(st, t) {
			if _, err := os.Stat(st.Dir); err != nil {
				// The shared directory the conversation works in is gone
				// with the previous attempt: its work cannot come back.
				fmt.Fprintf(t.Log, "openhands: conversation %s worked in %s, which is gone; starting a fresh one\n", id, st.Dir)
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.CancelTimeout)
				a.be.pause(cctx, id)  //nolint:errcheck // best effort: its work is lost anyway
				a.be.remove(cctx, id) //nolint:errcheck // best effort
				cancel()
				return "", errStale
			}
		}
		a.cfg.Logger.InfoContext(ctx, "openhands: re-attached to the recorded conversation", "conversation", id)
		fmt.Fprintf(t.Log, "openhands: re-attached to conversation %s\n", id)
		return id, nil
	}
	if st.Dir != t.Dir {
		st.Dir = t.Dir
		if err := st.save(ctx, t.State); err != nil {
			return "", err
		}
	}
	actual, err := a.be.create(ctx, startSpec{id: id, model: model, prompt: prompt(t), task: t, startTask: st.StartTask,
		onStartTask: func(ctx context.Context, startTask string) error {
			st.StartTask = startTask
			return st.save(ctx, t.State)
		}})
	if err != nil {
		return "", err
	}
	fmt.Fprintf(t.Log, "openhands: conversation %s started with model %s\n", actual, orDefault(model, "(account default)"))
	if actual != id {
		st.ConversationID = actual
		if err := st.save(ctx, t.State); err != nil {
			return "", err
		}
	}
	return actual, nil
}

// fresh records that the next conversation of this round is a new one.
func (a *Agent) fresh(ctx context.Context, t *agent.Task, st *runState) error {
	st.Gen++
	st.ConversationID, st.StartTask = "", ""
	return st.save(ctx, t.State)
}

// finish harvests the results of a finished conversation.
func (a *Agent) finish(ctx context.Context, t *agent.Task, st *runState, id, model string, o outcome, stop error) (*agent.Report, error) {
	h, err := a.be.harvest(ctx, id, t)
	if err == nil && a.movedAway(st, t) {
		// Re-attached from another attempt: the agent wrote into that
		// attempt's directory; bring its changes over.
		h.files, err = syncChanged(st.Dir, t.Dir)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("openhands: cancelled: %w", ctx.Err())
		}
		return nil, a.classify(err)
	}
	rep := &agent.Report{Model: model, Summary: strings.TrimSpace(o.summary), Details: map[string]any{
		"conversation_id":   id,
		"conversation_url":  o.url,
		"iterations":        o.steps,
		"tool_calls":        o.actions,
		"cost_usd":          o.cost,
		"total_cost_usd":    st.spent(""),
		"tokens":            o.prompt + o.completion,
		"prompt_tokens":     o.prompt,
		"completion_tokens": o.completion,
		"conversations":     st.Gen + 1,
		"target":            string(a.cfg.Target),
	}}
	if h.files != nil {
		rep.Details["files"] = h.files
	}
	if len(h.unreadable) > 0 {
		rep.Details["unreadable_files"] = h.unreadable
		fmt.Fprintf(t.Log, "openhands: the server lists %s as changed but could not give their contents; "+
			"they were left as they were\n", strings.Join(h.unreadable, ", "))
	}
	if o.costUnknown {
		rep.Details["cost_unknown"] = true
		rep.Details["cost_note"] = fmt.Sprintf("the server reports no cost for model %s and handoff has no price for it: "+
			"cost_usd counts $0 for its %d tokens and the budget cannot hold; set OPENHANDS_PRICES=%s=input/output "+
			"(US dollars per million tokens)", orDefault(o.model, model), o.prompt+o.completion, orDefault(o.model, model))
	} else if o.priced {
		rep.Details["cost_source"] = "token usage priced by handoff (the server reports no cost)"
	}
	vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.CancelTimeout)
	if v := a.be.version(vctx, id); v != "" {
		rep.Details["server_version"] = v
	}
	cancel()
	if stop != nil {
		rep.Details["stop_reason"] = stopReasons[o.end]
		if rep.Summary == "" {
			rep.Summary = "stopped: " + o.detail
		}
	}
	return rep, stop
}

// stopped pauses a conversation that must not go on, harvests what it wrote
// and returns the report with the error that ends the task. Where a pause
// stops the server reading files (Cloud pauses the sandbox), the results are
// read first and the conversation paused after.
func (a *Agent) stopped(ctx context.Context, t *agent.Task, st *runState, id, model string, o outcome, stop error) (*agent.Report, error) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.CancelTimeout)
	defer cancel()
	pause := func() {
		if err := a.be.pause(pctx, id); err != nil {
			a.cfg.Logger.WarnContext(ctx, "openhands: pausing the conversation failed", "conversation", id, "error", err)
		}
	}
	if !a.be.readsNeedRunning() {
		pause()
	}
	fmt.Fprintf(t.Log, "openhands: conversation %s stopped: %s\n", id, a.redact(o.detail))
	hctx := ctx
	if ctx.Err() != nil {
		hctx = pctx
	}
	rep, err := a.finish(hctx, t, st, id, model, o, stop)
	if a.be.readsNeedRunning() {
		pause()
	}
	if rep == nil {
		a.cfg.Logger.WarnContext(ctx, "openhands: harvesting a stopped conversation failed", "conversation", id, "error", err)
		fmt.Fprintf(t.Log, "openhands: reading back what conversation %s wrote failed: %s\n", id, a.redact(fmt.Sprint(err)))
	}
	return rep, stop
}

// cleanup pauses a conversation after cancellation, within CancelTimeout.
// A cancellation that carries a cause (handoff's Cancel gives one) also
// deletes it, unless KeepOnCancel; a plain cancellation (a worker shutting
// down, its task requeued) leaves it paused for the next worker to resume.
func (a *Agent) cleanup(ctx context.Context, id string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.CancelTimeout)
	defer cancel()
	if err := a.be.pause(cctx, id); err != nil {
		a.cfg.Logger.WarnContext(ctx, "openhands: pausing the cancelled conversation failed", "conversation", id, "error", err)
	}
	cause := context.Cause(ctx)
	deliberate := cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded)
	if a.cfg.KeepOnCancel || !deliberate {
		return
	}
	if err := a.be.remove(cctx, id); err != nil {
		a.cfg.Logger.WarnContext(ctx, "openhands: deleting the cancelled conversation failed", "conversation", id, "error", err)
	}
}

// classify marks errors worth another attempt as transient.
func (a *Agent) classify(err error) error {
	if isRetryable(err) && !agent.IsTransient(err) {
		return agent.Transient(err)
	}
	return err
}

func (a *Agent) redact(s string) string { return a.cl.redact(s) }

// prompt is the instruction sent to the agent: the engine's prompt, plus the
// verification feedback when the engine has not put it in already.
func prompt(t *agent.Task) string {
	p := t.Prompt
	if p == "" {
		p = fmt.Sprintf("Write unit tests for %s in %s so that its coverage reaches at least %.0f %%. "+
			"Change no other file.", t.Module, t.Output, t.Threshold)
	}
	if fb := t.Feedback; fb != nil && fb.Text != "" && !strings.Contains(p, fb.Text) {
		p += "\n\n" + fb.Text
	}
	return p
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
