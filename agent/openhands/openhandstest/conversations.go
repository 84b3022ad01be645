package openhandstest

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// serveConversations serves /api/conversations and its sub-routes.
func (s *Server) serveConversations(w http.ResponseWriter, r *http.Request, body []byte) {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/conversations"), "/")
	if rest == "" {
		switch r.Method {
		case http.MethodPost:
			s.createConversation(w, body)
		case http.MethodGet:
			s.batchGet(w, r)
		default:
			writeJSON(w, 405, map[string]any{"detail": "Method Not Allowed"})
		}
		return
	}
	id, sub, _ := strings.Cut(rest, "/")
	if _, err := uuid.Parse(id); err != nil {
		writeJSON(w, 422, map[string]any{"detail": []any{map[string]any{"loc": []any{"path", "conversation_id"},
			"msg": "Input should be a valid UUID", "type": "uuid_parsing"}}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookup(id)
	if c == nil {
		writeJSON(w, 404, map[string]any{"detail": "Not Found"})
		return
	}
	switch {
	case sub == "" && r.Method == http.MethodGet:
		if c.step() {
			s.restart()
		}
		writeJSON(w, 200, c.info())
	case sub == "" && r.Method == http.MethodDelete:
		c.Deleted = true
		writeJSON(w, 200, map[string]any{"success": true})
	case sub == "run" && r.Method == http.MethodPost:
		c.Runs++
		switch {
		case c.sc.Kind == Wedged, c.Status == "running":
			writeJSON(w, 409, map[string]any{"detail": "Conversation already running. Wait for completion or pause first."})
			return
		case c.Status == "paused", c.Status == "idle":
			c.Status = "running"
		}
		writeJSON(w, 200, map[string]any{"success": true})
	case sub == "pause" && r.Method == http.MethodPost:
		c.Pauses++
		if c.Status == "running" || c.Status == "idle" || c.Status == "waiting_for_confirmation" {
			c.Status = "paused"
		}
		writeJSON(w, 200, map[string]any{"success": true})
	case sub == "events/search" && r.Method == http.MethodGet:
		s.searchEvents(w, r, c)
	case sub == "events/respond_to_confirmation" && r.Method == http.MethodPost:
		var req struct {
			Accept *bool `json:"accept"`
		}
		if json.Unmarshal(body, &req) != nil || req.Accept == nil {
			validationError(w, "Field required: accept")
			return
		}
		c.Confirmations = append(c.Confirmations, *req.Accept)
		if c.Status == "waiting_for_confirmation" {
			c.Status = "running"
			c.approved = *req.Accept
			c.rejected = c.rejected || !*req.Accept
			if !*req.Accept {
				c.approved = true // the rejected step runs without effect
			}
		}
		writeJSON(w, 200, map[string]any{"success": true})
	default:
		notFound(w)
	}
}

// startRequest is the part of StartConversationRequest the stand-in reads.
type startRequest struct {
	Agent *struct {
		LLM *struct {
			Model string `json:"model"`
		} `json:"llm"`
	} `json:"agent"`
	Workspace *struct {
		WorkingDir string `json:"working_dir"`
	} `json:"workspace"`
	ConversationID *string `json:"conversation_id"`
	InitialMessage *struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		Run bool `json:"run"`
	} `json:"initial_message"`
	MaxIterations *int `json:"max_iterations"`
}

func (s *Server) createConversation(w http.ResponseWriter, body []byte) {
	var req startRequest
	if err := json.Unmarshal(body, &req); err != nil {
		validationError(w, "JSON decode error: "+err.Error())
		return
	}
	if req.Agent == nil || req.Agent.LLM == nil || req.Workspace == nil || req.Workspace.WorkingDir == "" {
		validationError(w, "Field required: agent.llm and workspace.working_dir")
		return
	}
	id := uuid.NewString()
	if req.ConversationID != nil {
		u, err := uuid.Parse(*req.ConversationID)
		if err != nil {
			validationError(w, "conversation_id: Input should be a valid UUID")
			return
		}
		id = u.String()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creates++
	if c := s.lookup(id); c != nil {
		writeJSON(w, 200, c.info())
		return
	}
	maxIter := 500
	if req.MaxIterations != nil {
		maxIter = *req.MaxIterations
	}
	var prompt strings.Builder
	run := false
	if m := req.InitialMessage; m != nil {
		for _, c := range m.Content {
			prompt.WriteString(c.Text)
		}
		run = m.Run
	}
	c := s.newConv(Start{ConversationID: id, Model: req.Agent.LLM.Model, WorkingDir: req.Workspace.WorkingDir,
		Prompt: prompt.String(), MaxIterations: maxIter}, run)
	writeJSON(w, 201, c.info())
}

// newConv creates a conversation from its start description. The caller
// holds s.mu.
func (s *Server) newConv(st Start, run bool) *conv {
	st.N = len(s.order) + 1
	sc := s.opts.Scenario
	if s.opts.Choose != nil {
		sc = s.opts.Choose(st)
	}
	sc = sc.withDefaults()
	c := &conv{Conversation: Conversation{ID: st.ConversationID, Model: st.Model, WorkingDir: st.WorkingDir,
		Prompt: st.Prompt, Status: "idle", Scenario: sc.Kind, MaxIterations: st.MaxIterations, Cloud: st.Cloud},
		sc: sc, created: time.Now()}
	c.emit(map[string]any{"kind": "MessageEvent", "source": "user",
		"llm_message": map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": st.Prompt}}}})
	if run && sc.Kind != Wedged {
		c.Status = "running"
	}
	// The real server creates any working directory it is sent and makes
	// it a git repository; a missing mount gives no error at all.
	if _, err := os.Stat(st.WorkingDir); os.IsNotExist(err) {
		if os.MkdirAll(st.WorkingDir, 0o755) == nil {
			git(st.WorkingDir, "init", "-q") //nolint:errcheck // as the server: best effort
		}
	}
	c.AlwaysConfirm = st.Cloud && s.opts.CloudConfirmation
	if old, ok := s.convs[st.ConversationID]; ok { // a deleted conversation whose ID is used again
		key := st.ConversationID + "#" + strconv.Itoa(len(s.order))
		s.convs[key] = old
		for i, k := range s.order {
			if k == st.ConversationID {
				s.order[i] = key
			}
		}
	}
	s.convs[st.ConversationID] = c
	s.order = append(s.order, st.ConversationID)
	return c
}

func (s *Server) batchGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, id := range r.URL.Query()["ids"] {
		if c := s.lookup(id); c != nil {
			out = append(out, c.info())
		} else {
			out = append(out, nil)
		}
	}
	writeJSON(w, 200, out)
}

// searchEvents pages through a conversation's events: page_id is the ID of
// the first event of the page, next_page_id that of the next page.
func (s *Server) searchEvents(w http.ResponseWriter, r *http.Request, c *conv) {
	writeJSON(w, 200, eventsPage(r, c.events))
}

func eventsPage(r *http.Request, events []map[string]any) map[string]any {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 100 {
			limit = n
		}
	}
	start := 0
	if pid := r.URL.Query().Get("page_id"); pid != "" {
		for i, e := range events {
			if e["id"] == pid {
				start = i
				break
			}
		}
	}
	end := min(start+limit, len(events))
	page := map[string]any{"items": append([]map[string]any{}, events[start:end]...), "next_page_id": nil}
	if end < len(events) {
		page["next_page_id"] = events[end]["id"]
	}
	return page
}
