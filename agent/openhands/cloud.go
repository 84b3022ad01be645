package openhands

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
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
	// agents maps a conversation ID to its sandbox's own agent server (the
	// conversation URL and session key of the conversation record), which
	// answers confirmations the V1 API has no route for.
	agents map[string]sandboxAgent
}

// sandboxAgent is a Cloud sandbox's own agent server.
type sandboxAgent struct{ conversationURL, sessionKey string }

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
	if conv.ConversationURL != nil && conv.SessionAPIKey != nil && *conv.SessionAPIKey != "" {
		if c.agents == nil {
			c.agents = map[string]sandboxAgent{}
		}
		c.agents[id] = sandboxAgent{conversationURL: *conv.ConversationURL, sessionKey: *conv.SessionAPIKey}
	}
	c.mu.Unlock()
	s := snapshot{url: c.cl.base + "/conversations/" + strings.ReplaceAll(id, "-", "")}
	if conv.ConversationURL != nil && *conv.ConversationURL != "" {
		s.url = *conv.ConversationURL
	}
	if conv.LLMModel != nil {
		s.model = *conv.LLMModel
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

// cursor: the app server's page_id is an integer offset into the
// conversation's events (its event service reads int(page_id)).
func (c *cloud) cursor(read int, _ string) string {
	if read == 0 {
		return ""
	}
	return strconv.Itoa(read)
}

// readsNeedRunning: the app server reads files through the sandbox, and
// answers 409 once it is paused.
func (c *cloud) readsNeedRunning() bool { return true }

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

// confirm answers through the sandbox's own agent server: accounts with
// confirmation mode on run conversations with AlwaysConfirm, and the V1 API
// has no route to confirm.
func (c *cloud) confirm(ctx context.Context, id string, accept bool) error {
	c.mu.Lock()
	sa, ok := c.agents[id]
	c.mu.Unlock()
	base, conv, found := strings.Cut(sa.conversationURL, "/api/conversations/")
	if !ok || !found || conv == "" {
		return errUnsupported
	}
	body := confirmationResponse{Accept: accept}
	if !accept {
		body.Reason = "handoff runs agents without confirmation; set OPENHANDS_CONFIRMATION=accept to allow actions"
	}
	_, err := c.cl.do(ctx, call{method: http.MethodPost, baseURL: base, sessionKey: sa.sessionKey,
		path: "/api/conversations/" + strings.TrimRight(conv, "/") + "/events/respond_to_confirmation", json: body})
	return err
}

// harvest lists the changes against the branch the sandbox cloned
// (origin/<branch>: committed work stays listed) and reads each file.
// The file route answers 200 "" on any failure, so an empty answer is
// checked with the diff route before it is trusted; a file that cannot be
// read is left alone and reported.
func (c *cloud) harvest(ctx context.Context, id string, t *agent.Task) (harvested, error) {
	base := "/api/v1/app-conversations/" + url.PathEscape(id)
	a, err := c.cl.do(ctx, call{method: http.MethodGet, path: base + "/git/changes",
		query: url.Values{"path": {c.cfg.RepoDir}, "ref": {c.baseRef()}}})
	if httpStatus(err) == http.StatusConflict {
		return harvested{}, fmt.Errorf("openhands: listing the agent's changes in %s: the sandbox is paused and Cloud "+
			"reads no files from a paused sandbox; resume the conversation in the OpenHands UI to see them: %w", c.cfg.RepoDir, err)
	}
	if err != nil {
		return harvested{}, fmt.Errorf("openhands: listing the agent's changes in %s: %w", c.cfg.RepoDir, err)
	}
	var changes []gitChange
	if err := a.decode(&changes); err != nil {
		return harvested{}, err
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
		if content != "" {
			return []byte(content), nil
		}
		d, err := c.cl.do(ctx, call{method: http.MethodGet, path: base + "/git/diff",
			query: url.Values{"path": {remote}, "ref": {c.baseRef()}}})
		if err != nil {
			return nil, err
		}
		var diff gitDiff
		if err := d.decode(&diff); err != nil || diff.Modified == nil {
			return nil, errUnreadable
		}
		return []byte(*diff.Modified), nil
	})
}

// baseRef is what the sandbox's clone started from.
func (c *cloud) baseRef() string { return "origin/" + orDefault(c.cfg.Branch, "HEAD") }

// version asks the sandbox's own agent server (its release decides what
// the git routes do), else the app server.
func (c *cloud) version(ctx context.Context, id string) string {
	c.mu.Lock()
	sa, ok := c.agents[id]
	c.mu.Unlock()
	if base, _, found := strings.Cut(sa.conversationURL, "/api/conversations/"); ok && found {
		if info, ok := getServerInfo(ctx, c.cl, call{baseURL: base, sessionKey: sa.sessionKey}); ok && info.Version != "" {
			return info.Version
		}
	}
	info, _ := getServerInfo(ctx, c.cl, call{})
	return info.Version
}

func (c *cloud) uptime(context.Context) (float64, bool) { return 0, false }
