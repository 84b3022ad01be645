package openhandstest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/openhands/openhandstest"
)

const key = "k-123"

func do(t *testing.T, srv *openhandstest.Server, method, path string, body any, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, r)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Session-API-Key", key)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, b
}

func startBody(dir, id string) map[string]any {
	return map[string]any{
		"agent":           map[string]any{"kind": "Agent", "llm": map[string]any{"model": "m", "usage_id": "agent"}},
		"workspace":       map[string]any{"kind": "LocalWorkspace", "working_dir": dir},
		"conversation_id": id,
		"initial_message": map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "go"}}, "run": true},
		"max_iterations":  5,
	}
}

const id = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"

func TestCreateIsIdempotentByID(t *testing.T) {
	t.Parallel()
	srv := openhandstest.NewServer(t, openhandstest.Options{APIKey: key})
	dir := t.TempDir()
	code, _, _ := do(t, srv, "POST", "/api/conversations", startBody(dir, id), nil)
	require.Equal(t, 201, code)
	code, _, body := do(t, srv, "POST", "/api/conversations", startBody(dir, id), nil)
	require.Equal(t, 200, code, "the same conversation_id answers 200 with the existing conversation")
	require.Contains(t, string(body), id)
	require.Equal(t, 2, srv.Creates())
	require.Len(t, srv.Conversations(), 1)
}

func TestAuthAndFaults(t *testing.T) {
	t.Parallel()
	srv := openhandstest.NewServer(t, openhandstest.Options{APIKey: key, RateLimit: 1, RetryAfter: "7", ServerErrors: 1})
	code, _, _ := do(t, srv, "GET", "/alive", nil, map[string]string{"X-Session-API-Key": ""})
	require.Equal(t, 200, code, "/alive needs no key")
	code, _, _ = do(t, srv, "GET", "/api/conversations?ids="+id, nil, map[string]string{"X-Session-API-Key": "wrong"})
	require.Equal(t, 401, code)
	code, hdr, _ := do(t, srv, "GET", "/api/conversations?ids="+id, nil, nil)
	require.Equal(t, 429, code)
	require.Equal(t, "7", hdr.Get("Retry-After"))
	code, _, _ = do(t, srv, "GET", "/api/conversations?ids="+id, nil, nil)
	require.Equal(t, 503, code)
	code, _, body := do(t, srv, "GET", "/api/conversations?ids="+id, nil, nil)
	require.Equal(t, 200, code)
	require.JSONEq(t, `[null]`, string(body))
}

func TestScenarioWritesFilesAndFinishes(t *testing.T) {
	t.Parallel()
	srv := openhandstest.NewServer(t, openhandstest.Options{Scenario: openhandstest.Scenario{Steps: 2,
		Files: map[string]string{"pkg/x_test.go": "package pkg\n"}}})
	dir := gitRepo(t)
	do(t, srv, "POST", "/api/conversations", startBody(dir, id), nil)
	statuses := []string{}
	for range 4 {
		_, _, body := do(t, srv, "GET", "/api/conversations/"+id, nil, nil)
		var info struct {
			ExecutionStatus string `json:"execution_status"`
		}
		require.NoError(t, json.Unmarshal(body, &info))
		statuses = append(statuses, info.ExecutionStatus)
	}
	require.Equal(t, []string{"running", "running", "finished", "finished"}, statuses, "one step per status read")
	b, err := os.ReadFile(filepath.Join(dir, "pkg", "x_test.go"))
	require.NoError(t, err)
	require.Equal(t, "package pkg\n", string(b))

	// Events page one at a time through next_page_id.
	var kinds []string
	page := ""
	for {
		q := url.Values{"limit": {"1"}}
		if page != "" {
			q.Set("page_id", page)
		}
		_, _, body := do(t, srv, "GET", "/api/conversations/"+id+"/events/search?"+q.Encode(), nil, nil)
		var p struct {
			Items []struct {
				Kind string `json:"kind"`
			} `json:"items"`
			Next *string `json:"next_page_id"`
		}
		require.NoError(t, json.Unmarshal(body, &p))
		for _, it := range p.Items {
			kinds = append(kinds, it.Kind)
		}
		if p.Next == nil {
			break
		}
		page = *p.Next
	}
	require.Equal(t, []string{"MessageEvent", "ActionEvent", "ObservationEvent", "ActionEvent", "ObservationEvent",
		"ActionEvent"}, kinds)

	// Both spellings of the file routes, query-style and path-style.
	code, _, body := do(t, srv, "GET", "/api/git/changes?path="+url.QueryEscape(dir), nil, nil)
	require.Equal(t, 200, code)
	require.JSONEq(t, `[{"status":"ADDED","path":"pkg/x_test.go"}]`, string(body))
	code, _, body = do(t, srv, "GET", "/api/file/download/"+dir+"/pkg/x_test.go", nil, nil)
	require.Equal(t, 200, code)
	require.Equal(t, "package pkg\n", string(body))
}

// gitRepo returns a git repository with one commit.
func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "calc.go"), []byte("package calc\n"), 0o644))
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "-m", "snapshot"}} {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	return dir
}

func TestRouteStylesAndWedge(t *testing.T) {
	t.Parallel()
	old := openhandstest.NewServer(t, openhandstest.Options{PathStyleOnly: true})
	code, _, body := do(t, old, "GET", "/api/git/changes?path=/tmp", nil, nil)
	require.Equal(t, 404, code)
	require.JSONEq(t, `{"detail":"Not Found"}`, string(body), "an unknown route, as FastAPI says it")
	code, _, body = do(t, old, "GET", "/api/file/download//no/such/file", nil, nil)
	require.Equal(t, 404, code)
	require.JSONEq(t, `{"detail":"File not found"}`, string(body), "a missing file on a known route")

	wedged := openhandstest.NewServer(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.Wedged}})
	do(t, wedged, "POST", "/api/conversations", startBody(t.TempDir(), id), nil)
	code, _, _ = do(t, wedged, "POST", "/api/conversations/"+id+"/run", nil, nil)
	require.Equal(t, 409, code)
	c, ok := wedged.Conversation(id)
	require.True(t, ok)
	require.Equal(t, "idle", c.Status, "409 on run while idle")
}

func TestRestartReloadsRunningConversationsAsError(t *testing.T) {
	t.Parallel()
	srv := openhandstest.NewServer(t, openhandstest.Options{Scenario: openhandstest.Scenario{Kind: openhandstest.NeverFinish}})
	do(t, srv, "POST", "/api/conversations", startBody(t.TempDir(), id), nil)
	srv.Restart()
	c, _ := srv.Conversation(id)
	require.Equal(t, "error", c.Status)
	_, _, body := do(t, srv, "GET", "/server_info", nil, nil)
	var info struct {
		Uptime float64 `json:"uptime"`
	}
	require.NoError(t, json.Unmarshal(body, &info))
	require.Less(t, info.Uptime, 5.0)
	require.Equal(t, 1, srv.Restarts())
}

// TestCloudIsAsStrictAsTheAppServer: integer page offsets, 409 from a
// paused sandbox, 200 "" for a file that cannot be read, and the sandbox's
// agent server reachable with the conversation's session key.
func TestCloudIsAsStrictAsTheAppServer(t *testing.T) {
	t.Parallel()
	srv := openhandstest.NewServer(t, openhandstest.Options{APIKey: key, CloudWorkspace: t.TempDir(),
		Scenario: openhandstest.Scenario{Kind: openhandstest.NeverFinish, Steps: 50, EventsPerStep: 3,
			Files: map[string]string{"a_test.go": "package a\n"}}})
	bearer := map[string]string{"Authorization": "Bearer " + key, "X-Session-API-Key": ""}
	code, _, body := do(t, srv, "POST", "/api/v1/app-conversations", map[string]any{"conversation_id": id,
		"initial_message": map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "go"}}}}, bearer)
	require.Equal(t, 200, code)
	var task struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(body, &task))
	var conv []struct {
		SandboxID       string  `json:"sandbox_id"`
		ConversationURL *string `json:"conversation_url"`
		SessionAPIKey   *string `json:"session_api_key"`
	}
	for range 2 {
		do(t, srv, "GET", "/api/v1/app-conversations/start-tasks?ids="+task.ID, nil, bearer)
	}
	for range 30 { // one step per read
		_, _, body = do(t, srv, "GET", "/api/v1/app-conversations?ids="+id, nil, bearer)
	}
	require.NoError(t, json.Unmarshal(body, &conv))
	hex := strings.ReplaceAll(id, "-", "")
	require.Equal(t, srv.URL+"/api/conversations/"+hex, *conv[0].ConversationURL)

	search := "/api/v1/conversation/" + hex + "/events/search?limit=100"
	code, _, body = do(t, srv, "GET", search, nil, bearer)
	require.Equal(t, 200, code)
	var page struct {
		Items []map[string]any `json:"items"`
		Next  *string          `json:"next_page_id"`
	}
	require.NoError(t, json.Unmarshal(body, &page))
	require.Len(t, page.Items, 100)
	require.Equal(t, "100", *page.Next, "next_page_id is an offset")
	code, _, _ = do(t, srv, "GET", search+"&page_id="+page.Items[99]["id"].(string), nil, bearer)
	require.Equal(t, 500, code, "int(page_id) fails on an event ID")
	code, _, _ = do(t, srv, "GET", search+"&page_id=100", nil, bearer)
	require.Equal(t, 200, code)

	file := "/api/v1/app-conversations/" + hex + "/file?file_path="
	code, _, body = do(t, srv, "GET", file+url.QueryEscape("/no/such/file"), nil, bearer)
	require.Equal(t, 200, code)
	require.JSONEq(t, `""`, string(body), "any failure answers 200 with an empty string")

	code, _, _ = do(t, srv, "POST", "/api/conversations/"+hex+"/pause", nil, map[string]string{"X-Session-API-Key": *conv[0].SessionAPIKey})
	require.Equal(t, 200, code, "the sandbox's agent server takes the session key")
	code, _, _ = do(t, srv, "POST", "/api/v1/sandboxes/"+conv[0].SandboxID+"/pause", nil, bearer)
	require.Equal(t, 200, code)
	code, _, body = do(t, srv, "GET", "/api/v1/app-conversations/"+hex+"/git/changes?path=/w", nil, bearer)
	require.Equal(t, 409, code)
	require.Contains(t, string(body), "Sandbox is paused")
	code, _, _ = do(t, srv, "GET", file+url.QueryEscape("/w/a_test.go"), nil, bearer)
	require.Equal(t, 409, code)
}
