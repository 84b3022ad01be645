package openhands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/agent"
)

// ending says why following a conversation stopped.
type ending int

const (
	endFinished      ending = iota // execution_status finished
	endCancelled                   // the task's context was cancelled
	endFault                       // the server could not be reached or answered wrongly
	endLLMError                    // ended in an LLM error: try the next model
	endRestart                     // reloaded as error after a server restart, or vanished
	endWedged                      // idle, and /run answers 409
	endMaxIterations               // used its iterations
	endStuck                       // stuck detection stopped it
	endBudget                      // accumulated cost reached the budget
	endDeadline                    // still running at the deadline
	endError                       // ended in an error
	endConfirmation                // waits for a confirmation handoff cannot give
)

// stopReasons name the endings in results and errors.
var stopReasons = map[ending]string{
	endLLMError: "llm_error", endRestart: "server_restart", endWedged: "wedged", endMaxIterations: "max_iterations",
	endStuck: "stuck", endBudget: "budget", endDeadline: "deadline", endError: "error",
	endConfirmation: "waiting_for_confirmation",
}

// outcome is what following a conversation found.
type outcome struct {
	end         ending
	err         error  // endFault, endCancelled
	detail      string // why, for people
	status      string // last execution status seen
	rateLimited bool   // the LLM error was a rate limit
	actions     int    // tool calls (ActionEvents)
	steps       int    // agent steps: LLM responses with actions, what max_iterations counts
	cost        float64
	costUnknown bool   // tokens were used, the server reports no cost and handoff has no price
	priced      bool   // cost computed by handoff from the token usage
	model       string // the model the server reports
	prompt      int64
	completion  int64
	summary     string // the FinishAction's message, else the agent's last message
	lastAction  string
	url         string
}

// follower polls one conversation until it ends or must be stopped.
type follower struct {
	a       *Agent
	be      backend
	id      string
	t       *agent.Task
	spent   float64 // cost of the task's other conversations
	seen    map[string]bool
	lastEv  string
	read    int             // events read, in order: the Cloud paging offset
	steps   map[string]bool // llm_response_id of the ActionEvents seen
	model   string          // the model the conversation was started with
	errCode string
	errText string
	unknown map[string]bool
	started time.Time
}

// follow polls the conversation, reading its events, until it reaches a
// terminal status or a limit (deadline, budget, iterations) stops it.
//
// readBy is when to stop following so that the results can still be read
// back before the task's deadline (zero: no deadline).
func (a *Agent) follow(ctx context.Context, be backend, id string, t *agent.Task, spent float64, model string,
	readBy time.Time) outcome {
	f := &follower{a: a, be: be, id: id, t: t, spent: spent, seen: map[string]bool{}, unknown: map[string]bool{},
		started: time.Now(), steps: map[string]bool{}, model: model}
	deadline := readBy
	if a.cfg.MaxDuration > 0 {
		if d := f.started.Add(a.cfg.MaxDuration); deadline.IsZero() || d.Before(deadline) {
			deadline = d
		}
	}
	fctx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		fctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	var o outcome
	idle409, confirmations, confirmedAt := 0, 0, -1
	for {
		if end, stop := f.poll(ctx, fctx, &o); stop {
			o.end = end
			return o
		}
		switch o.status {
		case "finished":
			o.end = endFinished
			return o
		case "stuck":
			o.end, o.detail = endStuck, "the server's stuck detection stopped the agent"
			return o
		case "error":
			f.classifyError(fctx, &o)
			return o
		case statusSandboxError:
			o.end, o.detail = endRestart, "the Cloud sandbox is in ERROR or MISSING"
			return o
		case "paused", statusSandboxPaused, "idle":
			err := be.resume(fctx, id, o.status)
			switch {
			case errors.Is(err, errAlreadyRunning) && o.status == "idle":
				if idle409++; idle409 >= 3 {
					o.end, o.detail = endWedged, "the conversation stays idle while /run answers 409 (already running)"
					return o
				}
			case err != nil && !errors.Is(err, errAlreadyRunning) && !errors.Is(err, errUnsupported):
				if end, stop := f.fault(ctx, fctx, err, &o); stop {
					o.end = end
					return o
				}
			default:
				idle409 = 0
			}
		case "waiting_for_confirmation":
			// With AlwaysConfirm every step waits: only a confirmation that
			// brings no progress counts against the limit.
			if o.steps != confirmedAt {
				confirmations, confirmedAt = 0, o.steps
			}
			confirmations++
			err := be.confirm(fctx, id, !a.cfg.RejectConfirmations)
			if errors.Is(err, errUnsupported) || confirmations > 50 {
				o.end, o.detail = endConfirmation, "the conversation waits for a confirmation of an action "+
					"(the server ignored the never-confirm policy); answer it in the OpenHands UI or set OPENHANDS_CONFIRMATION"
				return o
			}
			if err != nil {
				if end, stop := f.fault(ctx, fctx, err, &o); stop {
					o.end = end
					return o
				}
			}
		case "running", statusStarting, "deleting":
		default:
			if !f.unknown[o.status] {
				f.unknown[o.status] = true
				a.cfg.Logger.InfoContext(ctx, "openhands: unknown conversation status, still waiting",
					"conversation", id, "status", o.status)
			}
		}
		if o.status != "finished" && o.steps >= a.cfg.MaxIterations {
			o.end, o.detail = endMaxIterations, fmt.Sprintf("the agent took %d steps (%d tool calls), the limit is %d",
				o.steps, o.actions, a.cfg.MaxIterations)
			return o
		}
		if b := a.cfg.BudgetUSD; b > 0 && f.spent+o.cost >= b {
			o.end, o.detail = endBudget, fmt.Sprintf("the task's LLM cost reached $%.4f of the $%.4f budget", f.spent+o.cost, b)
			return o
		}
		if err := sleep(fctx, a.cfg.PollInterval); err != nil {
			o.end, o.err = f.ctxEnd(ctx, &o)
			return o
		}
	}
}

// poll reads the conversation's status and new events into o.
func (f *follower) poll(ctx, fctx context.Context, o *outcome) (ending, bool) {
	s, ok, err := f.be.find(fctx, f.id)
	if err != nil {
		return f.fault(ctx, fctx, err, o)
	}
	if !ok {
		o.detail = "the conversation disappeared from the server (deleted, or the server lost its state)"
		return endRestart, true
	}
	o.status, o.cost, o.prompt, o.completion = s.status, s.costUSD, s.promptTokens, s.completionTokens
	if s.url != "" {
		o.url = s.url
	}
	o.model = orDefault(s.model, f.model)
	o.priced, o.costUnknown = false, false
	if o.cost == 0 && o.prompt+o.completion > 0 {
		// The agent server takes cost from LiteLLM, which has no price for
		// many models: price the token usage instead.
		if p, ok := priceOf(o.model, f.a.cfg.Prices); ok {
			o.cost, o.priced = costFromTokens(p, o.prompt, o.completion), true
		} else {
			o.costUnknown = true
		}
	}
	if err := f.readEvents(fctx, o); err != nil {
		if end, stop := f.fault(ctx, fctx, err, o); stop {
			return end, true
		}
	}
	cost := fmt.Sprintf("$%.2f", o.cost)
	if o.costUnknown {
		cost = "cost unknown"
	}
	f.t.Progress(fmt.Sprintf("openhands conversation %s: %s, %d steps, %d actions, %s%s", shortID(f.id), o.status,
		o.steps, o.actions, cost, prefixed("; last: ", o.lastAction)))
	return 0, false
}

// fault decides what a request error means: cancellation, the deadline,
// or a fault of the server.
func (f *follower) fault(ctx, fctx context.Context, err error, o *outcome) (ending, bool) {
	if ctx.Err() != nil || fctx.Err() != nil {
		end, e := f.ctxEnd(ctx, o)
		o.err = e
		return end, true
	}
	o.err = err
	return endFault, true
}

// ctxEnd tells cancellation from the deadline once a context is done.
func (f *follower) ctxEnd(ctx context.Context, o *outcome) (ending, error) {
	if ctx.Err() != nil {
		return endCancelled, ctx.Err()
	}
	o.detail = fmt.Sprintf("the conversation was still %s at the deadline", o.status)
	return endDeadline, nil
}

// readEvents reads the events that appeared since the last poll.
//
// The page to start from is the backend's cursor; the pages after it are
// the server's own next_page_id, whatever it means to that server.
func (f *follower) readEvents(ctx context.Context, o *outcome) error {
	page := f.be.cursor(f.read, f.lastEv)
	for range 50 {
		p, err := f.be.events(ctx, f.id, page)
		if err != nil {
			return err
		}
		f.read += len(p.Items)
		for i := range p.Items {
			e := &p.Items[i]
			if e.ID != "" {
				if f.seen[e.ID] {
					continue
				}
				f.seen[e.ID] = true
				f.lastEv = e.ID
			}
			f.handle(e, o)
		}
		if p.NextPageID == nil || *p.NextPageID == "" || *p.NextPageID == page {
			return nil
		}
		page = *p.NextPageID
	}
	return nil
}

// handle takes in one event. Unknown kinds are logged and otherwise ignored.
func (f *follower) handle(e *event, o *outcome) {
	line := f.a.redact(e.describe())
	switch e.Kind {
	case "ActionEvent":
		o.actions++
		step := e.LLMResponseID
		if step == "" {
			step = "event " + e.ID
		}
		if !f.steps[step] {
			f.steps[step] = true
			o.steps++
		}
		o.lastAction = line
		if e.Action != nil && e.Action.Kind == "FinishAction" {
			o.summary = f.a.redact(e.Action.Message)
		}
	case "MessageEvent":
		if e.Source == "agent" && e.LLMMessage != nil && o.summary == "" {
			o.summary = strings.TrimPrefix(line, "agent message: ")
		}
	case "ConversationErrorEvent":
		f.errCode, f.errText = e.Code, f.a.redact(e.Detail)
	}
	fmt.Fprintf(f.t.Log, "openhands %s: %s\n", e.Kind, line)
}

// classifyError decides what an error status means.
func (f *follower) classifyError(ctx context.Context, o *outcome) {
	code, text := f.errCode, f.errText
	switch {
	case code == "MaxIterationsReached":
		o.end, o.detail = endMaxIterations, "the server stopped the agent at max_iterations="+fmt.Sprint(f.a.cfg.MaxIterations)
	case isLLMError(code, text):
		o.end, o.detail = endLLMError, fmt.Sprintf("LLM error %s: %s", code, oneLine(text, 300))
		o.rateLimited = strings.Contains(strings.ToLower(code+" "+text), "ratelimit") ||
			strings.Contains(strings.ToLower(text), "rate limit")
	case code == "" && f.errText == "":
		o.end, o.detail = endRestart, "the conversation reloaded as error without an error event"
		if up, ok := f.be.uptime(ctx); ok && time.Duration(up*float64(time.Second)) < time.Since(f.started) {
			o.detail += fmt.Sprintf("; the server has been up only %.0fs: it restarted mid-run", up)
		}
	default:
		o.end, o.detail = endError, fmt.Sprintf("%s: %s", code, oneLine(text, 300))
	}
}

// isLLMError recognises the error codes the SDK gives LLM failures (its
// exception class names: LLMRateLimitError, LLMContextWindowExceedError,
// LLMServiceUnavailableError, litellm's NotFoundError, ...).
func isLLMError(code, text string) bool {
	c := strings.ToLower(code)
	if strings.HasPrefix(c, "llm") {
		return true
	}
	for _, k := range []string{"ratelimit", "contextwindow", "serviceunavailable", "notfounderror", "apiconnection",
		"badrequesterror", "authenticationerror", "internalservererror", "timeout"} {
		if strings.Contains(c, k) {
			return true
		}
	}
	t := strings.ToLower(text)
	return strings.Contains(t, "litellm") || strings.Contains(t, "rate limit") || strings.Contains(t, "context length") ||
		strings.Contains(t, "context window")
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}
