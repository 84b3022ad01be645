package openhandstest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Conversation is what the stand-in knows of one conversation, for tests to
// assert on.
type Conversation struct {
	ID            string
	Model         string
	WorkingDir    string
	Prompt        string
	Status        string // execution_status
	Scenario      Kind
	Actions       int
	MaxIterations int
	CostUSD       float64
	Runs          int // POST /run calls (and Cloud sandbox resumes)
	Pauses        int // POST /pause calls (and Cloud sandbox pauses)
	Confirmations []bool
	Deleted       bool
	Cloud         bool
	Written       []string // files the scenario wrote, relative to WorkingDir
	ToolCalls     int      // tool calls made; Actions counts steps, as the server does
	AlwaysConfirm bool     // the conversation runs with the AlwaysConfirm policy
}

// conv is the live state of a conversation.
type conv struct {
	Conversation
	sc        Scenario
	polls     int
	tokens    int
	events    []map[string]any
	created   time.Time
	paused    bool // paused by the scenario, waiting for a run
	sandboxID string
	approved  bool // AlwaysConfirm: the pending step was accepted
	rejected  bool // AlwaysConfirm: a step was rejected
}

// sessionKey is the session API key of a Cloud conversation's sandbox.
func (c *conv) sessionKey() string { return "sandbox-key-" + hexID(c.ID)[:12] }

func (c *conv) emit(ev map[string]any) {
	ev["id"] = uuid.NewString()
	ev["timestamp"] = time.Now().UTC().Format("2006-01-02T15:04:05.000000")
	c.events = append(c.events, ev)
}

// displayStatus is the status the conversation reports at this poll.
func (c *conv) displayStatus() string {
	if c.sc.UnknownStatus != "" && c.Status == "running" && c.polls <= 2 {
		return c.sc.UnknownStatus
	}
	return c.Status
}

// step advances a running conversation by one scripted step. It returns
// true when the scenario asks for a server restart.
func (c *conv) step() (restart bool) {
	c.polls++
	if c.Status != "running" {
		return false
	}
	sc := c.sc
	limit := sc.Steps
	switch sc.Kind {
	case MaxIterations, MaxIterationsLegacy:
		limit = c.MaxIterations
	}
	if c.Actions >= limit {
		switch sc.Kind {
		case MaxIterations:
			c.Status = "error"
			c.emit(map[string]any{"kind": "ConversationErrorEvent", "source": "environment", "code": "MaxIterationsReached",
				"detail": fmt.Sprintf("Agent reached maximum iterations limit (%d).", c.MaxIterations)})
		case Stuck:
			c.Status = "stuck"
		case Fail:
			c.Status = "error"
			c.emit(map[string]any{"kind": "ConversationErrorEvent", "source": "agent", "code": sc.ErrorCode, "detail": sc.ErrorDetail})
		case PauseThenResume:
			if !c.paused && c.Runs == 0 {
				c.paused, c.Status = true, "paused"
				c.emit(map[string]any{"kind": "PauseEvent", "source": "user"})
				return false
			}
			c.finish()
		case Confirm:
			if len(c.Confirmations) == 0 {
				c.Status = "waiting_for_confirmation"
				return false
			}
			c.finish()
		case Restart:
			return true
		case Succeed:
			c.finish()
		}
		return false
	}
	if c.AlwaysConfirm && !c.approved {
		// The agent proposed the step's actions; AlwaysConfirm holds them.
		c.Status = "waiting_for_confirmation"
		return false
	}
	c.approved = false
	c.Actions++
	c.CostUSD += sc.CostPerStep
	c.tokens += sc.TokensPerStep
	if c.Actions == 1 && !c.rejected {
		c.writeFiles()
	}
	for range sc.EventsPerStep {
		c.emit(map[string]any{"kind": "MessageEvent", "source": "agent", "llm_message": map[string]any{"role": "assistant",
			"content": []any{map[string]any{"type": "text", "text": fmt.Sprintf("Thinking about step %d.", c.Actions)}}}})
	}
	respID := fmt.Sprintf("resp_%d", c.Actions)
	for call := range sc.CallsPerStep {
		c.ToolCalls++
		tool := "terminal"
		action := map[string]any{"kind": "TerminalAction", "command": fmt.Sprintf("echo step %d call %d", c.Actions, call+1)}
		callID := fmt.Sprintf("call_%d_%d", c.Actions, call+1)
		c.emit(map[string]any{"kind": "ActionEvent", "source": "agent", "thought": []any{map[string]any{"type": "text", "text": "Working."}},
			"action": action, "tool_name": tool, "tool_call_id": callID, "llm_response_id": respID,
			"tool_call": map[string]any{"id": callID, "name": tool, "arguments": `{"command":"echo"}`, "origin": "completion"},
			"summary":   fmt.Sprintf("step %d of the scripted agent", c.Actions)})
		c.emit(map[string]any{"kind": "ObservationEvent", "source": "environment", "tool_name": tool, "tool_call_id": callID,
			"action_id": c.events[len(c.events)-1]["id"],
			"observation": map[string]any{"kind": "TerminalObservation", "command": "echo", "exit_code": 0,
				"content": []any{map[string]any{"type": "text", "text": "step"}}}})
	}
	if sc.UnknownEvents {
		c.emit(map[string]any{"kind": "HologramEvent", "source": "environment", "glow": 7})
	}
	return false
}

// finish ends the conversation the way an agent calling finish does.
func (c *conv) finish() {
	callID := fmt.Sprintf("call_finish_%d", c.Actions)
	c.emit(map[string]any{"kind": "ActionEvent", "source": "agent", "thought": []any{},
		"action": map[string]any{"kind": "FinishAction", "message": c.sc.Finish}, "tool_name": "finish",
		"tool_call_id": callID, "llm_response_id": "resp_finish",
		"tool_call": map[string]any{"id": callID, "name": "finish", "arguments": "{}", "origin": "completion"}})
	c.Actions++
	c.ToolCalls++
	c.Status = "finished"
}

// writeFiles writes the scenario's files into the working directory.
func (c *conv) writeFiles() {
	files := c.sc.Files
	if c.sc.FilesFunc != nil {
		files = c.sc.FilesFunc(c.WorkingDir)
	}
	for rel, body := range files {
		p := filepath.Join(c.WorkingDir, filepath.FromSlash(rel))
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			continue
		}
		if os.MkdirAll(filepath.Dir(p), 0o755) == nil && os.WriteFile(p, []byte(body), 0o644) == nil {
			c.Written = append(c.Written, rel)
		}
	}
	if c.sc.Commit && len(c.Written) > 0 {
		args := append([]string{"add", "--"}, c.Written...)
		if git(c.WorkingDir, args...) == nil {
			git(c.WorkingDir, "-c", "user.name=agent", "-c", "user.email=agent@localhost", "commit", "-q", "-m", "Add tests") //nolint:errcheck // the test sees the result
		}
	}
}

// git runs git in dir.
func git(dir string, args ...string) error {
	_, err := gitOutput(dir, args...)
	return err
}

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, ee.Stderr)
		}
		return "", err
	}
	return string(out), nil
}

// info is the ConversationInfo of the agent server.
func (c *conv) info() map[string]any {
	return map[string]any{
		"id": c.ID,
		"agent": map[string]any{"kind": "Agent", "llm": map[string]any{"model": c.Model, "api_key": "**********", "usage_id": "agent"},
			"tools": []any{map[string]any{"name": "terminal"}, map[string]any{"name": "file_editor"}}},
		"workspace":           map[string]any{"kind": "LocalWorkspace", "working_dir": c.WorkingDir},
		"max_iterations":      c.MaxIterations,
		"stuck_detection":     true,
		"execution_status":    c.displayStatus(),
		"confirmation_policy": map[string]any{"kind": "NeverConfirm"},
		"stats":               map[string]any{"usage_to_metrics": map[string]any{"agent": c.metrics()}},
		"metrics":             nil, // the agent server never fills it: cost and usage are in stats
		"created_at":          c.created.UTC().Format(time.RFC3339),
		"updated_at":          time.Now().UTC().Format(time.RFC3339),
	}
}

func (c *conv) metrics() map[string]any {
	return map[string]any{"model_name": c.Model, "accumulated_cost": c.CostUSD,
		"accumulated_token_usage": map[string]any{"model": c.Model, "prompt_tokens": c.tokens, "completion_tokens": c.tokens}}
}
