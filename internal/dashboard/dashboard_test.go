package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/agent/exec"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/dashboard"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/testenv"
)

type bundle struct {
	c     *handoff.Client
	srv   *httptest.Server
	token string
}

// setup opens a client on a fresh SQLite database with n tasks, two in
// three of them finished with a result, and serves the dashboard.
func setup(t testing.TB, n int) *bundle {
	t.Helper()
	ctx := context.Background()
	ws := testenv.GitRepo(t, map[string]string{"go.mod": "module example.com/calc\n\ngo 1.22\n", "calc.go": agenttest.GoModule})
	c, err := handoff.Open(ctx, handoff.Config{Workspace: ws, Agents: []agent.Agent{exec.New(exec.Config{Command: "true"})}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	rs := make([]handoff.Request, n)
	for i := range rs {
		rs[i] = handoff.Request{Module: "calc.go", Agent: "exec", Labels: map[string]string{"n": fmt.Sprint(i)}}
	}
	ids, err := c.SubmitMany(ctx, rs)
	require.NoError(t, err)
	res, err := json.Marshal(handofftype.Result{State: handofftype.StateCompleted, Success: true,
		Coverage: handofftype.Coverage{Before: 12.5, After: 91.7, Threshold: 80},
		Tests:    handofftype.Tests{Kept: []string{"TestAdd", "TestAbs"}, Dropped: []agent.Dropped{{Name: "TestDiv", Reason: "failed", Excerpt: "want 2, got 3"}}},
		Funnel:   handofftype.Funnel{Generated: 3, Built: 3, Passed: 2, Stable: 2, Improved: 2, Kept: 2}})
	require.NoError(t, err)
	st := c.TaskStore()
	for i, id := range ids {
		if i%3 == 0 {
			continue
		}
		_, err := st.DB.ExecContext(ctx, `UPDATE handoff_task SET state = 'COMPLETED', success = 1, result = $1, completed_at = $2 WHERE id = $3`,
			string(res), time.Now().UnixMilli(), id)
		require.NoError(t, err)
	}
	token, _, err := st.CreateToken(ctx, "dash", []string{store.ScopeRead, store.ScopeCancel})
	require.NoError(t, err)
	srv := httptest.NewServer(dashboard.New(dashboard.Config{Client: c}))
	t.Cleanup(srv.Close)
	return &bundle{c: c, srv: srv, token: token}
}

func (b *bundle) get(t testing.TB, path string) (int, []byte, time.Duration) {
	t.Helper()
	req, err := http.NewRequest("GET", b.srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+b.token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body, time.Since(start)
}

// TestTasksPageBudget: with 1,000 tasks, the tasks page (its HTML and every
// asset it loads) weighs under 200 KiB and is rendered in under 300 ms on
// loopback (the median of 5 loads).
func TestTasksPageBudget(t *testing.T) {
	t.Parallel()
	b := setup(t, 1000)
	code, html, _ := b.get(t, "/")
	require.Equal(t, 200, code, "%s", html)
	require.Equal(t, 50, strings.Count(string(html), `<tr id="t-`), "one page: 50 tasks")
	require.Contains(t, string(html), `rel="next"`)
	weight := len(html)
	for _, m := range regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(string(html), -1) {
		code, asset, _ := b.get(t, m[1])
		require.Equal(t, 200, code, m[1])
		weight += len(asset)
	}
	var times []time.Duration
	for range 5 {
		_, _, d := b.get(t, "/")
		times = append(times, d)
	}
	slices.Sort(times)
	t.Logf("tasks page with 1000 tasks: %d bytes (%.1f KiB) with its assets; median render %s (of %v)", weight, float64(weight)/1024, times[2], times)
	require.Less(t, weight, 200<<10)
	require.Less(t, times[2], 300*time.Millisecond)
}

// BenchmarkTasksPage renders the first page of 1,000 tasks.
func BenchmarkTasksPage(b *testing.B) {
	bb := setup(b, 1000)
	b.ResetTimer()
	for b.Loop() {
		code, _, _ := bb.get(b, "/")
		require.Equal(b, 200, code)
	}
}
