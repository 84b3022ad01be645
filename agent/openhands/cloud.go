package openhands

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/handoff-dev/handoff/agent"
)

// cloud talks to OpenHands Cloud or a self-hosted V1 app server
// (/api/v1/app-conversations).
type cloud struct {
	cl  *client
	cfg Config

	mu        sync.Mutex
	sandboxes map[string]string // conversation ID → sandbox ID, for pause and resume
}

func (c *cloud) find(ctx context.Context, id string) (snapshot, bool, error) {
	a, err := c.cl.do(ctx, call{method: http.MethodGet, path: "/api/v1/app-conversations", query: url.Values{"ids": {id}}})
	if err != nil {
		return snapshot{}, false, err
	}
	var list []*appConversation
	if err := a.decode(&list); err != nil {
		return snapshot{}, false, err
	}
	if len(list) == 0 || list[0] == nil {
		return snapshot{}, false, nil
	}
	conv := list[0]
	c.mu.Lock()
	c.sandboxes[id] = conv.SandboxID
	c.mu.Unlock()
	s := snapshot{url: c.cl.base + "/conversations/" + strings.ReplaceAll(id, "-", "")}
	if conv.ConversationURL != nil && *conv.ConversationURL != "" {
		s.url = *conv.ConversationURL
	}
	if m := conv.Metrics; m != nil {
		s.costUSD = m.AccumulatedCost
		if u := m.AccumulatedTokenUsage; u != nil {
			s.promptTokens, s.completionTokens = u.PromptTokens, u.CompletionTokens
		}
	}
	switch conv.SandboxStatus {
	case "RUNNING":
		s.status = statusStarting
		if conv.ExecutionStatus != nil {
			s.status = *conv.ExecutionStatus
		}
	case "STARTING":
		s.status = statusStarting
	case "PAUSED":
		s.status = statusSandboxPaused
	case "ERROR", "MISSING":
		s.status = statusSandboxError
	default:
		s.status = strings.ToLower(conv.SandboxStatus) // unknown: tolerated, not terminal
	}
	return s, true, nil
}

// create starts the conversation with a start task and waits for it to be
// READY. The start task is recorded before waiting, so a restarted worker
// waits for the same one instead of starting a second sandbox.
func (c *cloud) create(ctx context.Context, spec startSpec) (string, error) {
	taskID := spec.startTask
	if taskID == "" {
		req := appConversationStartRequest{
			ConversationID: spec.id,
			InitialMessage: sendMessage{Role: "user", Content: []textContent{{Type: "text", Text: spec.prompt}}, Run: true},
			Title:          "handoff " + spec.task.ID,
		}
		if spec.model != "" {
			req.LLMModel = &spec.model
		}
		req.SelectedRepository = &c.cfg.Repository
		if c.cfg.Branch != "" {
			req.SelectedBranch = &c.cfg.Branch
		}
		a, err := c.cl.do(ctx, call{method: http.MethodPost, path: "/api/v1/app-conversations", json: req})
		if err != nil {
			return "", err
		}
		var st appConversationStartTask
		if err := a.decode(&st); err != nil {
			return "", err
		}
		taskID = st.ID
		if err := spec.onStartTask(ctx, taskID); err != nil {
			return "", err
		}
	}
	for {
		a, err := c.cl.do(ctx, call{method: http.MethodGet, path: "/api/v1/app-conversations/start-tasks",
			query: url.Values{"ids": {taskID}}})
		if err != nil {
			return "", err
		}
		var list []*appConversationStartTask
		if err := a.decode(&list); err != nil {
			return "", err
		}
		if len(list) == 0 || list[0] == nil {
			return "", &retryable{fmt.Errorf("openhands: Cloud lost start task %s", taskID)}
		}
		st := list[0]
		switch st.Status {
		case "READY":
			if st.AppConversationID == nil || *st.AppConversationID == "" {
				return "", fmt.Errorf("openhands: Cloud start task %s is READY without a conversation", taskID)
			}
			if st.SandboxID != nil {
				c.mu.Lock()
				c.sandboxes[*st.AppConversationID] = *st.SandboxID
				c.mu.Unlock()
			}
			return *st.AppConversationID, nil
		case "ERROR":
			detail := ""
			if st.Detail != nil {
				detail = *st.Detail
			}
			// Sandbox starts fail under load ("failed to start within 120s"): worth a later attempt.
			return "", &retryable{fmt.Errorf("openhands: Cloud could not start the conversation: %s", c.cl.redact(detail))}
		}
		spec.task.Progress("openhands Cloud: " + strings.ToLower(strings.ReplaceAll(st.Status, "_", " ")))
		if err := sleep(ctx, c.cfg.PollInterval); err != nil {
			return "", err
		}
	}
}

func (c *cloud) events(ctx context.Context, id, pageID string) (eventPage, error) {
	q := url.Values{"limit": {"100"}}
	if pageID != "" {
		q.Set("page_id", pageID)
	}
	a, err := c.cl.do(ctx, call{method: http.MethodGet, path: "/api/v1/conversation/" + url.PathEscape(id) + "/events/search", query: q})
	if err != nil {
		return eventPage{}, err
	}
	var p eventPage
	return p, a.decode(&p)
}

func (c *cloud) sandbox(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sandboxes[id]
}

// resume resumes a paused sandbox. The V1 API has no route to run an idle
// conversation, so an idle one is left to the deadline.
func (c *cloud) resume(ctx context.Context, id, status string) error {
	sb := c.sandbox(id)
	if status != statusSandboxPaused || sb == "" {
		return errUnsupported
	}
	_, err := c.cl.do(ctx, call{method: http.MethodPost, path: "/api/v1/sandboxes/" + url.PathEscape(sb) + "/resume", accept: []int{404}})
	return err
}

// pause pauses the conversation's sandbox: the V1 API stops a conversation
// that way.
func (c *cloud) pause(ctx context.Context, id string) error {
	sb := c.sandbox(id)
	if sb == "" {
		if _, _, err := c.find(ctx, id); err != nil {
			return err
		}
		if sb = c.sandbox(id); sb == "" {
			return nil
		}
	}
	_, err := c.cl.do(ctx, call{method: http.MethodPost, path: "/api/v1/sandboxes/" + url.PathEscape(sb) + "/pause", accept: []int{404}})
	return err
}

func (c *cloud) remove(ctx context.Context, id string) error {
	_, err := c.cl.do(ctx, call{method: http.MethodDelete, path: "/api/v1/app-conversations/" + url.PathEscape(id), accept: []int{404}})
	return err
}

func (c *cloud) confirm(context.Context, string, bool) error { return errUnsupported }

func (c *cloud) harvest(ctx context.Context, id string, t *agent.Task) ([]string, error) {
	base := "/api/v1/app-conversations/" + url.PathEscape(id)
	a, err := c.cl.do(ctx, call{method: http.MethodGet, path: base + "/git/changes", query: url.Values{"path": {c.cfg.RepoDir}}})
	if err != nil {
		return nil, fmt.Errorf("openhands: listing the agent's changes in %s: %w", c.cfg.RepoDir, err)
	}
	var changes []gitChange
	if err := a.decode(&changes); err != nil {
		return nil, err
	}
	return applyChanges(t.Dir, c.cfg.RepoDir, changes, func(remote string) ([]byte, error) {
		a, err := c.cl.do(ctx, call{method: http.MethodGet, path: base + "/file", query: url.Values{"file_path": {remote}}})
		if err != nil {
			return nil, err
		}
		var content string
		if err := json.Unmarshal(a.body, &content); err != nil {
			return nil, fmt.Errorf("openhands: reading %s: %w", remote, err)
		}
		return []byte(content), nil
	})
}

func (c *cloud) uptime(context.Context) (float64, bool) { return 0, false }
