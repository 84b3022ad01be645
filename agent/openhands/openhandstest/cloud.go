package openhandstest

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// startTask is a V1 app server start task.
type startTask struct {
	id        string
	convID    string
	pollsLeft int
	request   map[string]any
	start     Start
	created   time.Time
	ready     bool
}

func hexID(id string) string { return strings.ReplaceAll(id, "-", "") }

// serveCloud serves the subset of the V1 app server API that a client
// needs to run a conversation on a repository and read its changes.
func (s *Server) serveCloud(w http.ResponseWriter, r *http.Request, body []byte) {
	p := strings.TrimPrefix(r.URL.Path, "/api/v1")
	switch {
	case p == "/app-conversations" && r.Method == http.MethodPost:
		s.startAppConversation(w, body)
	case p == "/app-conversations/start-tasks" && r.Method == http.MethodGet:
		s.getStartTasks(w, r)
	case p == "/app-conversations" && r.Method == http.MethodGet:
		s.getAppConversations(w, r)
	case strings.HasPrefix(p, "/app-conversations/"):
		id, sub, _ := strings.Cut(strings.TrimPrefix(p, "/app-conversations/"), "/")
		s.appConversationRoute(w, r, id, sub)
	case strings.HasPrefix(p, "/sandboxes/") && r.Method == http.MethodPost:
		sid, action, _ := strings.Cut(strings.TrimPrefix(p, "/sandboxes/"), "/")
		s.sandboxAction(w, sid, action)
	case strings.HasPrefix(p, "/conversation/") && strings.HasSuffix(p, "/events/search") && r.Method == http.MethodGet:
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/conversation/"), "/events/search")
		s.mu.Lock()
		defer s.mu.Unlock()
		c := s.lookup(id)
		if c == nil {
			writeJSON(w, 404, map[string]any{"detail": "Not Found"})
			return
		}
		// The app server's event service reads page_id as an integer
		// offset (int(page_id)): anything else is an unhandled ValueError.
		limit, offset := 100, 0
		if v := r.URL.Query().Get("limit"); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 100 {
				limit = n
			}
		}
		if v := r.URL.Query().Get("page_id"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(500)
				w.Write([]byte("Internal Server Error")) //nolint:errcheck // recorder
				return
			}
			offset = max(n, 0)
		}
		start, end := min(offset, len(c.events)), min(offset+limit, len(c.events))
		page := map[string]any{"items": append([]map[string]any{}, c.events[start:end]...), "next_page_id": nil}
		if end < len(c.events) {
			page["next_page_id"] = strconv.Itoa(end)
		}
		writeJSON(w, 200, page)
	default:
		notFound(w)
	}
}

func (s *Server) startAppConversation(w http.ResponseWriter, body []byte) {
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		validationError(w, "JSON decode error: "+err.Error())
		return
	}
	if s.opts.CloudWorkspace == "" {
		writeJSON(w, 500, map[string]any{"detail": "stand-in: Options.CloudWorkspace is not set"})
		return
	}
	id := uuid.NewString()
	if v, ok := req["conversation_id"].(string); ok {
		u, err := uuid.Parse(v)
		if err != nil {
			validationError(w, "conversation_id: Input should be a valid UUID")
			return
		}
		id = u.String()
	}
	st := Start{ConversationID: id, WorkingDir: s.opts.CloudWorkspace, MaxIterations: 500, Cloud: true}
	if m, ok := req["llm_model"].(string); ok {
		st.Model = m
	}
	if msg, ok := req["initial_message"].(map[string]any); ok {
		if content, ok := msg["content"].([]any); ok {
			for _, c := range content {
				if cm, ok := c.(map[string]any); ok {
					t, _ := cm["text"].(string)
					st.Prompt += t
				}
			}
		}
	}
	polls := s.opts.StartTaskPolls
	if polls <= 0 {
		polls = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creates++
	task := &startTask{id: hexID(uuid.NewString()), convID: id, pollsLeft: polls, request: req, start: st, created: time.Now()}
	s.startTasks[task.id] = task
	writeJSON(w, 200, s.startTaskJSON(task))
}

func (s *Server) startTaskJSON(t *startTask) map[string]any {
	out := map[string]any{"id": t.id, "created_by_user_id": "stand-in-user", "status": "WORKING", "detail": nil,
		"app_conversation_id": nil, "sandbox_id": nil, "agent_server_url": nil, "request": t.request,
		"created_at": t.created.UTC().Format(time.RFC3339), "updated_at": time.Now().UTC().Format(time.RFC3339)}
	if t.ready {
		c := s.lookup(t.convID)
		out["status"], out["app_conversation_id"], out["sandbox_id"] = "READY", hexID(t.convID), c.sandboxID
		out["agent_server_url"] = s.URL
	}
	return out
}

func (s *Server) getStartTasks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, id := range r.URL.Query()["ids"] {
		t := s.startTasks[hexID(id)]
		if t == nil {
			out = append(out, nil)
			continue
		}
		if !t.ready {
			if t.pollsLeft--; t.pollsLeft < 0 {
				t.ready = true
				if s.lookup(t.convID) == nil {
					branch, _ := t.request["selected_branch"].(string)
					if err := checkout(s.opts.CloudWorkspace, branch); err != nil {
						writeJSON(w, 500, map[string]any{"detail": "stand-in: " + err.Error()})
						return
					}
					c := s.newConv(t.start, true)
					c.sandboxID = "sandbox-" + hexID(t.convID)[:12]
				}
			}
		}
		out = append(out, s.startTaskJSON(t))
	}
	writeJSON(w, 200, out)
}

func (s *Server) getAppConversations(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, id := range r.URL.Query()["ids"] {
		c := s.lookup(id)
		if c == nil || !c.Cloud {
			out = append(out, nil)
			continue
		}
		if c.step() {
			s.restart()
		}
		out = append(out, s.appConversationJSON(c))
	}
	writeJSON(w, 200, out)
}

func (s *Server) appConversationJSON(c *conv) map[string]any {
	sandbox, exec := "RUNNING", any(c.displayStatus())
	if c.Status == "paused" {
		sandbox, exec = "PAUSED", nil
	}
	return map[string]any{"id": hexID(c.ID), "created_by_user_id": "stand-in-user", "sandbox_id": c.sandboxID,
		"selected_repository": nil, "selected_branch": nil, "llm_model": c.Model, "metrics": c.metrics(),
		"sandbox_status": sandbox, "execution_status": exec,
		"conversation_url": s.URL + "/api/conversations/" + hexID(c.ID), "session_api_key": c.sessionKey(),
		"acp_server": nil, "launched_agent_profile": nil,
		"created_at": c.created.UTC().Format(time.RFC3339), "updated_at": time.Now().UTC().Format(time.RFC3339)}
}

func (s *Server) appConversationRoute(w http.ResponseWriter, r *http.Request, id, sub string) {
	s.mu.Lock()
	c := s.lookup(id)
	s.mu.Unlock()
	if c == nil || !c.Cloud {
		writeJSON(w, 404, map[string]any{"detail": "Not Found"})
		return
	}
	switch {
	case sub == "" && r.Method == http.MethodDelete:
		s.mu.Lock()
		c.Deleted = true
		s.mu.Unlock()
		writeJSON(w, 200, map[string]any{"success": true})
	case (sub == "git/changes" || sub == "git/diff" || sub == "file") && r.Method == http.MethodGet && c.Status == "paused":
		// The app server reaches files through the sandbox, which is down.
		writeJSON(w, 409, map[string]any{"detail": "Sandbox is paused"})
	case sub == "git/changes" && r.Method == http.MethodGet:
		ch, err := s.changes(r.URL.Query().Get("path"), r.URL.Query().Get("ref"))
		if err != nil {
			writeJSON(w, 500, map[string]any{"detail": err.Error()})
			return
		}
		writeJSON(w, 200, ch)
	case sub == "file" && r.Method == http.MethodGet:
		// Any failure (no such file, a directory, ...) answers 200 "".
		// Contents that are not text fail to decode, like a missing file.
		fp := r.URL.Query().Get("file_path")
		b, err := os.ReadFile(filepath.Clean(fp))
		if err != nil || !utf8.Valid(b) {
			writeJSON(w, 200, "")
			return
		}
		writeJSON(w, 200, string(b))
	case sub == "git/diff" && r.Method == http.MethodGet:
		// GitDiff: modified is null when the file cannot be read as text.
		b, err := os.ReadFile(filepath.Clean(r.URL.Query().Get("path")))
		var modified any
		if err == nil && utf8.Valid(b) {
			modified = string(b)
		}
		writeJSON(w, 200, map[string]any{"modified": modified, "original": nil})
	default:
		notFound(w)
	}
}

// checkout makes dir look like the sandbox's clone of the repository: a git
// repository whose files are committed, with origin/<branch> at that commit.
func checkout(dir, branch string) error {
	if branch == "" {
		branch = "main"
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		return nil
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"},
		{"-c", "user.name=cloud", "-c", "user.email=cloud@localhost", "commit", "-q", "--allow-empty", "-m", "clone"},
		{"update-ref", "refs/remotes/origin/" + branch, "HEAD"},
		{"symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/" + branch}} {
		if err := git(dir, args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) sandboxAction(w http.ResponseWriter, sid, action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.convs {
		if c.sandboxID != sid || c.Deleted {
			continue
		}
		switch action {
		case "pause":
			c.Pauses++
			if c.Status == "running" || c.Status == "idle" {
				c.Status = "paused"
			}
		case "resume":
			c.Runs++
			if c.Status == "paused" {
				c.Status = "running"
			}
		default:
			notFound(w)
			return
		}
		writeJSON(w, 200, map[string]any{"success": true})
		return
	}
	writeJSON(w, 404, map[string]any{"detail": "Not Found"})
}
