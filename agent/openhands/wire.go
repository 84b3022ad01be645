package openhands

import (
	"encoding/json"
	"strings"
)

// The JSON shapes below follow the published OpenAPI documents of the agent
// server and of the V1 app server (testdata/*.openapi.json). Only the fields
// handoff reads or writes are declared; everything else is ignored on input.

// startConversationRequest is the agent server's StartConversationRequest.
type startConversationRequest struct {
	Agent              agentSpec          `json:"agent"`
	Workspace          localWorkspace     `json:"workspace"`
	ConversationID     string             `json:"conversation_id"`
	ConfirmationPolicy confirmationPolicy `json:"confirmation_policy"`
	InitialMessage     sendMessage        `json:"initial_message"`
	MaxIterations      int                `json:"max_iterations"`
	StuckDetection     bool               `json:"stuck_detection"`
}

type agentSpec struct {
	Kind  string     `json:"kind"` // "Agent"
	LLM   llmSpec    `json:"llm"`
	Tools []toolSpec `json:"tools"`
}

type llmSpec struct {
	Model   string `json:"model"`
	APIKey  string `json:"api_key,omitempty"`
	BaseURL string `json:"base_url,omitempty"`
	UsageID string `json:"usage_id"`
}

type toolSpec struct {
	Name string `json:"name"`
}

type localWorkspace struct {
	Kind       string `json:"kind"` // "LocalWorkspace"
	WorkingDir string `json:"working_dir"`
}

type confirmationPolicy struct {
	Kind string `json:"kind"` // "NeverConfirm"
}

type sendMessage struct {
	Role    string        `json:"role"`
	Content []textContent `json:"content"`
	Run     bool          `json:"run"`
}

type textContent struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// conversationInfo is the part of the agent server's ConversationInfo that
// handoff reads.
type conversationInfo struct {
	ID              string           `json:"id"`
	ExecutionStatus string           `json:"execution_status"`
	MaxIterations   int              `json:"max_iterations"`
	Metrics         *metricsSnapshot `json:"metrics"`
	Stats           json.RawMessage  `json:"stats"`
	Agent           struct {
		LLM struct {
			Model string `json:"model"`
		} `json:"llm"`
	} `json:"agent"`
}

type metricsSnapshot struct {
	AccumulatedCost       float64     `json:"accumulated_cost"`
	AccumulatedTokenUsage *tokenUsage `json:"accumulated_token_usage"`
}

type tokenUsage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
}

// statsUsage reads ConversationStats, which the schema leaves open: the SDK
// keeps one metrics record per LLM usage ID under usage_to_metrics.
type statsUsage struct {
	UsageToMetrics map[string]metricsSnapshot `json:"usage_to_metrics"`
}

// cost returns the accumulated cost and token usage of a conversation, from
// metrics when the server reports them, else summed from stats.
func (c *conversationInfo) cost() (usd float64, prompt, completion int64) {
	if c.Metrics != nil {
		usd = c.Metrics.AccumulatedCost
		if u := c.Metrics.AccumulatedTokenUsage; u != nil {
			prompt, completion = u.PromptTokens, u.CompletionTokens
		}
		if usd > 0 || prompt > 0 {
			return usd, prompt, completion
		}
	}
	var s statsUsage
	if len(c.Stats) == 0 || json.Unmarshal(c.Stats, &s) != nil {
		return usd, prompt, completion
	}
	for _, m := range s.UsageToMetrics {
		usd += m.AccumulatedCost
		if u := m.AccumulatedTokenUsage; u != nil {
			prompt += u.PromptTokens
			completion += u.CompletionTokens
		}
	}
	return usd, prompt, completion
}

// eventPage is the agent server's (and app server's) EventPage.
type eventPage struct {
	Items      []event `json:"items"`
	NextPageID *string `json:"next_page_id"`
}

// event holds the fields handoff reads from any event kind. Unknown kinds
// decode into it as well and are ignored.
type event struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Source   string `json:"source"`
	Summary  string `json:"summary"`
	ToolName string `json:"tool_name"`
	// LLMResponseID is shared by the ActionEvents of one agent step (one
	// LLM response can make several tool calls).
	LLMResponseID string `json:"llm_response_id"`
	Thought       []struct {
		Text string `json:"text"`
	} `json:"thought"`
	Action *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
		Command any    `json:"command"`
		Path    string `json:"path"`
	} `json:"action"`
	LLMMessage *struct {
		Role    string `json:"role"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	} `json:"llm_message"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Error  string `json:"error"`
}

// describe returns a one-line account of an event for the transcript and
// the progress line.
func (e *event) describe() string {
	switch e.Kind {
	case "ActionEvent":
		if e.Summary != "" {
			return e.Summary
		}
		if e.Action != nil {
			switch {
			case e.Action.Kind == "FinishAction":
				return "finish: " + oneLine(e.Action.Message, 120)
			case e.Action.Path != "":
				return e.Action.Kind + " " + e.Action.Path
			}
			if s, ok := e.Action.Command.(string); ok && s != "" {
				return e.Action.Kind + ": " + oneLine(s, 120)
			}
			return e.Action.Kind
		}
		return "tool " + e.ToolName
	case "MessageEvent":
		if e.LLMMessage != nil {
			var b strings.Builder
			for _, c := range e.LLMMessage.Content {
				b.WriteString(c.Text)
			}
			return e.Source + " message: " + oneLine(b.String(), 120)
		}
	case "ConversationErrorEvent":
		return "conversation error " + e.Code + ": " + oneLine(e.Detail, 200)
	case "AgentErrorEvent":
		return "agent error: " + oneLine(e.Error, 200)
	}
	return e.Kind
}

// oneLine flattens s to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// gitDiff is the agent server's (and app server's) GitDiff.
type gitDiff struct {
	Modified *string `json:"modified"`
	Original *string `json:"original"`
}

// gitChange is the agent server's GitChange.
type gitChange struct {
	Status string `json:"status"`
	Path   string `json:"path"`
}

// executeBashRequest and bashOutput are the agent server's bash route shapes.
type executeBashRequest struct {
	Command string `json:"command"`
	Cwd     string `json:"cwd,omitempty"`
	Timeout int    `json:"timeout"`
}

type bashOutput struct {
	ExitCode *int   `json:"exit_code"`
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
}

type confirmationResponse struct {
	Accept bool   `json:"accept"`
	Reason string `json:"reason,omitempty"`
}

type serverInfo struct {
	Uptime  *float64 `json:"uptime"`
	Version string   `json:"version"`
}

// appConversationStartRequest is the V1 app server's
// AppConversationStartRequest.
type appConversationStartRequest struct {
	ConversationID     string      `json:"conversation_id"`
	InitialMessage     sendMessage `json:"initial_message"`
	LLMModel           *string     `json:"llm_model,omitempty"`
	SelectedRepository *string     `json:"selected_repository,omitempty"`
	SelectedBranch     *string     `json:"selected_branch,omitempty"`
	Title              string      `json:"title,omitempty"`
}

// appConversationStartTask is the V1 app server's AppConversationStartTask.
type appConversationStartTask struct {
	ID                string  `json:"id"`
	Status            string  `json:"status"`
	Detail            *string `json:"detail"`
	AppConversationID *string `json:"app_conversation_id"`
	SandboxID         *string `json:"sandbox_id"`
}

// appConversation is the V1 app server's AppConversation.
type appConversation struct {
	ID              string           `json:"id"`
	SandboxID       string           `json:"sandbox_id"`
	SandboxStatus   string           `json:"sandbox_status"`
	ExecutionStatus *string          `json:"execution_status"`
	ConversationURL *string          `json:"conversation_url"`
	SessionAPIKey   *string          `json:"session_api_key"`
	LLMModel        *string          `json:"llm_model"`
	Metrics         *metricsSnapshot `json:"metrics"`
}

// sameID compares conversation IDs across the dashed (agent server) and
// 32-hex (app server) spellings.
func sameID(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "")) }
	return norm(a) == norm(b)
}
