package openhands

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/handoff-dev/handoff/agent"
)

// agentServer talks to the agent server of OpenHands' software-agent-sdk.
type agentServer struct {
	cl  *client
	cfg Config
}

func (s *agentServer) convPath(id string, suffix string) string {
	return "/api/conversations/" + url.PathEscape(id) + suffix
}

func (s *agentServer) find(ctx context.Context, id string) (snapshot, bool, error) {
	a, err := s.cl.do(ctx, call{method: http.MethodGet, path: s.convPath(id, ""), accept: []int{404}})
	if err != nil {
		return snapshot{}, false, err
	}
	if a.status == http.StatusNotFound {
		return snapshot{}, false, nil
	}
	var info conversationInfo
	if err := a.decode(&info); err != nil {
		return snapshot{}, false, err
	}
	usd, p, c := info.cost()
	return snapshot{status: info.ExecutionStatus, costUSD: usd, promptTokens: p, completionTokens: c,
		url: s.cl.base + s.convPath(id, ""), model: info.Agent.LLM.Model}, true, nil
}

func (s *agentServer) create(ctx context.Context, spec startSpec) (string, error) {
	dir, err := s.prepareWorkspace(ctx, spec)
	if err != nil {
		return "", err
	}
	tools := make([]toolSpec, 0, 3)
	for _, n := range []string{"terminal", "file_editor", "task_tracker"} {
		tools = append(tools, toolSpec{Name: n})
	}
	req := startConversationRequest{
		Agent: agentSpec{Kind: "Agent", Tools: tools, LLM: llmSpec{Model: spec.model, APIKey: s.cfg.LLMAPIKey,
			BaseURL: s.cfg.LLMBaseURL, UsageID: "agent"}},
		Workspace:          localWorkspace{Kind: "LocalWorkspace", WorkingDir: dir},
		ConversationID:     spec.id,
		ConfirmationPolicy: confirmationPolicy{Kind: "NeverConfirm"},
		InitialMessage:     sendMessage{Role: "user", Content: []textContent{{Type: "text", Text: spec.prompt}}, Run: true},
		MaxIterations:      s.cfg.MaxIterations,
		StuckDetection:     true,
	}
	a, err := s.cl.do(ctx, call{method: http.MethodPost, path: "/api/conversations", json: req})
	if err != nil {
		return "", err
	}
	var info conversationInfo
	if err := a.decode(&info); err != nil {
		return "", err
	}
	if info.ID != "" && !sameID(info.ID, spec.id) {
		return "", fmt.Errorf("openhands: asked for conversation %s, the server created %s; "+
			"the server ignores conversation_id, so a restarted worker could not re-attach: upgrade the agent server",
			spec.id, info.ID)
	}
	return spec.id, nil
}

// prepareWorkspace returns the working directory the server should use:
// the mapped task directory in shared mode, an uploaded copy in upload mode.
func (s *agentServer) prepareWorkspace(ctx context.Context, spec startSpec) (string, error) {
	if s.cfg.Workspace != WorkspaceUpload {
		dir, err := s.cfg.serverPath(spec.task.Dir)
		if err != nil {
			return "", err
		}
		return dir, s.checkMount(ctx, spec.task.Dir, dir)
	}
	return upload(ctx, s, spec.id, spec.task.Dir)
}

// mountMarker is the file handoff writes into a task directory to check
// that the agent server sees it.
const mountMarker = ".handoff-mount-check"

// checkMount writes a marker file into the task directory and reads it
// through the server's file route. The server creates (and git-inits) any
// working directory it is sent, so without this check a missing or wrong
// mount would go unnoticed: the agent would work inside the container and
// the task would come back without tests.
func (s *agentServer) checkMount(ctx context.Context, local, remote string) error {
	token := uuid.NewString()
	p := filepath.Join(local, mountMarker)
	if err := os.WriteFile(p, []byte(token), 0o644); err != nil {
		return fmt.Errorf("openhands: writing the mount check into the task directory: %w", err)
	}
	defer os.Remove(p)
	a, err := s.fileRoute(ctx, http.MethodGet, "/api/file/download", path.Join(remote, mountMarker), nil, nil, "")
	if err != nil && httpStatus(err) != http.StatusNotFound {
		return err
	}
	if err == nil && strings.TrimSpace(string(a.body)) == token {
		return nil
	}
	why := "the server reads other contents there"
	if err != nil {
		why = "the server does not find it: not mounted there, or not readable for the server's user " +
			"(uid 10001 in the agent-server image)"
	}
	return fmt.Errorf("openhands: the agent server does not see the task directory %s at %s (handoff wrote %s "+
		"into it and %s): mount the task directories into the server's container at the same path "+
		"(docker run -v DIR:DIR, see docs/agents.md), or set OPENHANDS_PATH_MAP=/local/prefix=/server/prefix to where "+
		"they are mounted, or use OPENHANDS_WORKSPACE=upload", local, remote, mountMarker, why)
}

func (s *agentServer) events(ctx context.Context, id, pageID string) (eventPage, error) {
	q := url.Values{"limit": {"100"}}
	if pageID != "" {
		q.Set("page_id", pageID)
	}
	a, err := s.cl.do(ctx, call{method: http.MethodGet, path: s.convPath(id, "/events/search"), query: q})
	if err != nil {
		return eventPage{}, err
	}
	var p eventPage
	return p, a.decode(&p)
}

// cursor: the agent server's page_id is the ID of the page's first event;
// reading resumes at the last event read (seen again, and skipped).
func (s *agentServer) cursor(_ int, lastID string) string { return lastID }

func (s *agentServer) readsNeedRunning() bool { return false }

func (s *agentServer) resume(ctx context.Context, id, _ string) error {
	a, err := s.cl.do(ctx, call{method: http.MethodPost, path: s.convPath(id, "/run"), accept: []int{409}})
	if err != nil {
		return err
	}
	if a.status == http.StatusConflict {
		return errAlreadyRunning
	}
	return nil
}

func (s *agentServer) pause(ctx context.Context, id string) error {
	_, err := s.cl.do(ctx, call{method: http.MethodPost, path: s.convPath(id, "/pause"), accept: []int{400, 404, 409}})
	return err
}

func (s *agentServer) remove(ctx context.Context, id string) error {
	_, err := s.cl.do(ctx, call{method: http.MethodDelete, path: s.convPath(id, ""), accept: []int{400, 404}})
	return err
}

func (s *agentServer) confirm(ctx context.Context, id string, accept bool) error {
	body := confirmationResponse{Accept: accept}
	if !accept {
		body.Reason = "handoff runs agents without confirmation; set OPENHANDS_CONFIRMATION=accept to allow actions"
	}
	_, err := s.cl.do(ctx, call{method: http.MethodPost, path: s.convPath(id, "/events/respond_to_confirmation"), json: body})
	return err
}

// harvest, in upload mode, lists the changes against the snapshot's commit
// (ref: without it the server picks the base, the empty tree before 1.35
// and HEAD after, so either every file or committed work would be wrong)
// and downloads each file.
func (s *agentServer) harvest(ctx context.Context, id string, t *agent.Task) (harvested, error) {
	if s.cfg.Workspace != WorkspaceUpload {
		return harvested{}, nil
	}
	dir := uploadDir(s.cfg, id)
	a, err := s.fileRoute(ctx, http.MethodGet, "/api/git/changes", dir, url.Values{"ref": {snapshotRef}}, nil, "")
	if err != nil {
		return harvested{}, fmt.Errorf("openhands: listing the agent's changes in %s: %w", dir, err)
	}
	var changes []gitChange
	if err := a.decode(&changes); err != nil {
		return harvested{}, err
	}
	return applyChanges(t.Dir, dir, changes, func(remote string) ([]byte, error) {
		a, err := s.fileRoute(ctx, http.MethodGet, "/api/file/download", remote, nil, nil, "")
		if err != nil {
			return nil, err
		}
		return a.body, nil
	})
}

func (s *agentServer) uptime(ctx context.Context) (float64, bool) {
	info, ok := getServerInfo(ctx, s.cl, call{})
	if !ok || info.Uptime == nil {
		return 0, false
	}
	return *info.Uptime, true
}

func (s *agentServer) version(ctx context.Context, _ string) string {
	info, _ := getServerInfo(ctx, s.cl, call{})
	return info.Version
}

// getServerInfo reads /server_info, which both servers have; c may name
// another base URL and session key.
func getServerInfo(ctx context.Context, cl *client, c call) (serverInfo, bool) {
	var info serverInfo
	c.method, c.path = http.MethodGet, "/server_info"
	a, err := cl.do(ctx, c)
	if err != nil || a.decode(&info) != nil {
		return serverInfo{}, false
	}
	return info, true
}

// fileRoute calls a git or file route that takes an absolute path: the
// query-style form (releases from 1.12) first, then, on 404, the path-style
// form of older releases. The form that worked is remembered per server.
func (s *agentServer) fileRoute(ctx context.Context, method, route, abs string, q url.Values, body []byte, ctype string) (*answer, error) {
	c := call{method: method, body: body, contentType: ctype, accept: []int{404}}
	query := func() (*answer, error) {
		c.path, c.query = route, url.Values{"path": {abs}}
		for k, v := range q {
			c.query[k] = v
		}
		return s.cl.do(ctx, c)
	}
	pathStyle := func() (*answer, error) {
		c.path, c.query = route+"/"+escapePath(abs), q
		return s.cl.do(ctx, c)
	}
	first, second := query, pathStyle
	if s.cl.pathStyle.Load() {
		first, second = pathStyle, query
	}
	a, err := first()
	if err != nil {
		return nil, err
	}
	if a.status == http.StatusNotFound && !fileMissing(a) {
		b, err := second()
		if err != nil {
			return nil, err
		}
		if b.status != http.StatusNotFound {
			s.cl.pathStyle.Store(!s.cl.pathStyle.Load())
		}
		a = b
	}
	if a.status == http.StatusNotFound {
		return nil, &statusError{Method: method, Path: route, Code: 404, Body: s.cl.redact(oneLine(string(a.body), 200))}
	}
	return a, nil
}

// fileMissing tells a 404 for a missing file (the route exists) from a 404
// for an unknown route: FastAPI answers an unknown route {"detail":"Not Found"}.
func fileMissing(a *answer) bool {
	var d struct {
		Detail string `json:"detail"`
	}
	return a.decode(&d) == nil && d.Detail != "" && d.Detail != "Not Found"
}

// escapePath escapes each segment of an absolute slash path, keeping the
// leading slash so the path-style route receives an absolute path.
func escapePath(abs string) string {
	u := url.URL{Path: abs}
	return u.EscapedPath()
}

// bashExitCode formats an exit code that may be missing.
func bashExitCode(p *int) string {
	if p == nil {
		return "none (still running)"
	}
	return strconv.Itoa(*p)
}
