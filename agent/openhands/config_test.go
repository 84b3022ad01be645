package openhands

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func lookupMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	c := fromLookup(lookupMap(map[string]string{
		"OPENHANDS_URL": "http://oh:8000", "OPENHANDS_API_KEY": "k", "OPENROUTER_API_KEY": "or-key",
		"LLM_MODEL": "openrouter/a", "HANDOFF_MODELS": " b, ,c ", "LLM_BASE_URL": "http://llm",
		"HANDOFF_BUDGET_USD": "1.5", "OPENHANDS_MAX_ITERATIONS": "40", "OPENHANDS_WORKSPACE": "upload",
		"OPENHANDS_PATH_MAP": "/home/me/ws=/workspace", "OPENHANDS_POLL_INTERVAL": "250ms",
		"OPENHANDS_KEEP_ON_CANCEL": "true", "OPENHANDS_TARGET": "cloud", "OPENHANDS_REPOSITORY": "acme/calc",
		"OPENHANDS_BRANCH": "dev", "OPENHANDS_AUTH_HEADER": "X-Access-Token", "OPENHANDS_CONFIRMATION": "reject",
	}))
	require.NoError(t, c.validate())
	require.Equal(t, "or-key", c.LLMAPIKey, "OPENROUTER_API_KEY is the fallback for LLM_API_KEY")
	require.Equal(t, []string{"b", "c"}, c.Models)
	require.Equal(t, []string{"openrouter/a", "b", "c"}, c.models(""))
	require.Equal(t, []string{"x", "b", "c"}, c.models("x"), "--model replaces LLM_MODEL; the fallbacks follow")
	require.Equal(t, []string{"b", "c"}, Config{Models: []string{"b", "c", "b"}}.models(""))
	require.Equal(t, 1.5, c.BudgetUSD)
	require.Equal(t, 40, c.MaxIterations)
	require.Equal(t, WorkspaceUpload, c.Workspace)
	require.Equal(t, "/home/me/ws", c.LocalPrefix)
	require.Equal(t, "/workspace", c.ServerPrefix)
	require.Equal(t, 250*time.Millisecond, c.PollInterval)
	require.True(t, c.KeepOnCancel)
	require.True(t, c.RejectConfirmations)
	require.Equal(t, TargetCloud, c.Target)
	require.Equal(t, "X-Access-Token", c.AuthHeader)

	c = fromLookup(lookupMap(map[string]string{"LLM_API_KEY": "llm", "OPENROUTER_API_KEY": "or"}))
	require.NoError(t, c.validate())
	require.Equal(t, "llm", c.LLMAPIKey, "LLM_API_KEY wins over OPENROUTER_API_KEY")

	for k, v := range map[string]string{"HANDOFF_BUDGET_USD": "lots", "OPENHANDS_MAX_ITERATIONS": "0",
		"OPENHANDS_WORKSPACE": "nfs", "OPENHANDS_PATH_MAP": "/only-local", "OPENHANDS_POLL_INTERVAL": "fast",
		"OPENHANDS_TARGET": "v0"} {
		err := New(fromLookup(lookupMap(map[string]string{"OPENHANDS_URL": "http://x", k: v}))).Check()
		require.ErrorContains(t, err, k, "the message names the variable")
	}
}

func TestZeroConfigDefaults(t *testing.T) {
	t.Parallel()
	c := Config{}.withDefaults()
	require.Equal(t, TargetAgentServer, c.Target)
	require.Equal(t, "X-Session-API-Key", c.AuthHeader)
	require.Equal(t, WorkspaceShared, c.Workspace)
	require.Equal(t, 2*time.Second, c.PollInterval)
	require.Equal(t, 100, c.MaxIterations)
	require.NotNil(t, c.HTTPClient)
	require.NotNil(t, c.Logger)
	cl := Config{Target: TargetCloud, Repository: "acme/calc"}.withDefaults()
	require.Equal(t, "Authorization", cl.AuthHeader)
	require.Equal(t, "/workspace/project/calc", cl.RepoDir)
}

func TestConversationIDIsDerivedAndStable(t *testing.T) {
	t.Parallel()
	a := conversationID("task-1", 1, 0)
	require.Equal(t, a, conversationID("task-1", 1, 0), "the same task, round and counter give the same ID")
	require.Len(t, a, 36)
	require.Equal(t, "5", a[14:15], "a version 5 UUID")
	require.NotEqual(t, a, conversationID("task-1", 2, 0))
	require.NotEqual(t, a, conversationID("task-1", 1, 1))
	require.NotEqual(t, a, conversationID("task-2", 1, 0))
	require.True(t, sameID(a, stripDashes(a)), "the app server's 32-hex spelling is the same ID")
}

func stripDashes(s string) string {
	out := []byte{}
	for i := range len(s) {
		if s[i] != '-' {
			out = append(out, s[i])
		}
	}
	return string(out)
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d, ok := retryAfter("7", now)
	require.True(t, ok)
	require.Equal(t, 7*time.Second, d)
	d, ok = retryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now)
	require.True(t, ok)
	require.Equal(t, 90*time.Second, d)
	d, ok = retryAfter(now.Add(-time.Hour).Format(http.TimeFormat), now)
	require.True(t, ok)
	require.Zero(t, d, "a date in the past means now")
	_, ok = retryAfter("soon", now)
	require.False(t, ok)
	_, ok = retryAfter("", now)
	require.False(t, ok)
}

func TestBackoffIsCappedWithJitter(t *testing.T) {
	t.Parallel()
	cl := &client{cfg: Config{BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second}}
	seen := map[time.Duration]bool{}
	for attempt := range 40 {
		d := cl.backoff(attempt)
		require.Positive(t, d)
		require.LessOrEqual(t, d, time.Second, "capped at BackoffMax")
		if attempt == 0 {
			require.LessOrEqual(t, d, 100*time.Millisecond, "the first wait is at most the base")
		}
		seen[d] = true
	}
	require.Greater(t, len(seen), 30, "full jitter spreads the waits")
}

func TestRedactScrubsSecrets(t *testing.T) {
	t.Parallel()
	cl := &client{secrets: []string{"sk-123", "", "sess"}}
	require.Equal(t, `{"input":{"api_key":"[redacted]"},"h":"[redacted]ion"}`,
		cl.redact(`{"input":{"api_key":"sk-123"},"h":"session"}`))
}

func TestServerPath(t *testing.T) {
	t.Parallel()
	c := Config{LocalPrefix: "/home/me/handoff", ServerPrefix: "/workspace"}
	p, err := c.serverPath("/home/me/handoff/tasks/abc")
	require.NoError(t, err)
	require.Equal(t, "/workspace/tasks/abc", p)
	_, err = c.serverPath("/home/me/handoff-other/x")
	require.ErrorContains(t, err, "OPENHANDS_PATH_MAP")
	p, err = Config{}.serverPath("/tmp/task")
	require.NoError(t, err)
	require.Equal(t, "/tmp/task", p)
}

func TestApplyChangesStaysInsideTheTaskDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "old_test.go"), []byte("x"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "link")))
	fetch := func(remote string) ([]byte, error) { return []byte("from " + remote), nil }

	got, err := applyChanges(dir, "/srv/ws", []gitChange{
		{Status: "ADDED", Path: "pkg/new_test.go"}, {Status: "UPDATED", Path: "/srv/ws/a_test.go"},
		{Status: "DELETED", Path: "old_test.go"}, {Status: "MOVED", Path: "b.go -> b_test.go"},
		{Status: "SOMETHING_NEW", Path: "c_test.go"},
	}, fetch)
	require.NoError(t, err)
	require.Equal(t, []string{"pkg/new_test.go", "a_test.go", "old_test.go", "b_test.go", "c_test.go"}, got.files)
	b, err := os.ReadFile(filepath.Join(dir, "pkg", "new_test.go"))
	require.NoError(t, err)
	require.Equal(t, "from /srv/ws/pkg/new_test.go", string(b))
	require.NoFileExists(t, filepath.Join(dir, "old_test.go"))

	for _, bad := range []string{"../escape_test.go", "/etc/passwd", "link/inside_test.go"} {
		_, err := applyChanges(dir, "/srv/ws", []gitChange{{Status: "ADDED", Path: bad}}, fetch)
		require.Error(t, err, bad)
	}
	entries, err := os.ReadDir(outside)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing was written through the symlink")
}

func TestPriceOfMatchesTheLongestModelName(t *testing.T) {
	t.Parallel()
	for model, want := range map[string]Price{
		"openrouter/anthropic/claude-sonnet-4":          {3, 15},
		"anthropic/claude-sonnet-4-20250514":            {3, 15},
		"openai/gpt-4o-mini":                            {0.15, 0.6},
		"gpt-4o-2024-08-06":                             {2.5, 10},
		"litellm_proxy/anthropic/claude-opus-4-5":       {5, 25},
		"openrouter/google/gemini-2.5-flash:free":       {0.3, 2.5},
		"my/own-model":                                  {1, 2}, // OPENHANDS_PRICES, full name
		"openrouter/anthropic/claude-sonnet-4-20250514": {3, 15},
	} {
		got, ok := priceOf(model, map[string]Price{"my/own-model": {1, 2}})
		require.True(t, ok, model)
		require.Equal(t, want, got, model)
	}
	_, ok := priceOf("test/model-a", nil)
	require.False(t, ok)
	_, ok = priceOf("gpt-4o-turbo-mini-ish", nil)
	require.True(t, ok, "a variant of a known model takes its price")
}
