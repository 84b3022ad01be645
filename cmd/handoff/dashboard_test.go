package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/internal/testenv"
)

var screenshots = flag.Bool("screenshots", false, "write the dashboard tests' screenshots to docs/dashboard/*.png")

// dashboardAgent is an exec agent whose behaviour follows the module's
// directory: good writes covering tests, drop adds one that fails, fail
// crashes, gate* waits for the file .gate-<dir> in the workspace first.
const dashboardAgent = `set -e
dir=$(dirname "$HANDOFF_MODULE_PATH")
case "$dir" in
  fail) echo "the agent crashed: out of budget" >&2; exit 7;;
  gate*) echo "waiting for the gate $dir"; while [ ! -f "$GATE_DIR/.gate-$dir" ]; do sleep 0.05; done;;
esac
echo "writing tests for $HANDOFF_MODULE_PATH"
cat > "$HANDOFF_OUTPUT_PATH" <<'GO'
` + agenttest.GoModuleTests + `GO
if [ "$dir" = drop ]; then cat >> "$HANDOFF_OUTPUT_PATH" <<'GO'

func TestBroken(t *testing.T) {
	t.Fatal("want 5, got 4: broken on purpose")
}
GO
fi
`

// dashboardPipeline is a small pipeline for the runs page.
const dashboardPipeline = `name: calc
agent: exec
concurrency: 1
stages:
  check:
    run: echo checking && go vet ./piped/
  generate-tests:
    needs: check
    generate:
      modules: ["piped/calc.go"]
      coverage: 80
  build:
    needs: check
    run: echo building && go build ./...
  collect-tests:
    needs: build
    collect: generate-tests
    timeout: 5m
`

// TestDashboard drives the dashboard of a real `handoff serve` in a real
// browser (chromium through chromedp), with a real worker and tasks in
// every state: the login page for a stranger, the table following state
// changes within a second without a reload, a dropped test's reason and
// excerpt, the cancel button (only for tokens that may cancel), and
// cross-site posts refused.
func TestDashboard(t *testing.T) {
	t.Parallel()
	chrome := chromium(t)
	e := newEnv(t, filepath.Join(t.TempDir(), "handoff.db"))
	for _, dir := range []string{"good", "drop", "fail", "gate", "gate2", "cancelled", "piped"} {
		write(t, filepath.Join(e.ws, dir, "calc.go"), agenttest.GoModule)
	}
	write(t, filepath.Join(e.ws, "queued", "calc.py"), "def add(a, b):\n    return a + b\n")
	write(t, filepath.Join(e.ws, "pipeline.yml"), dashboardPipeline)
	for _, args := range [][]string{{"add", "-A"}, {"-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "modules"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = e.ws
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	e.vars = append(e.vars, "HANDOFF_EXEC_COMMAND="+dashboardAgent, "HANDOFF_EXEC_ENV=GATE_DIR", "GATE_DIR="+e.ws)
	reader, canceller, admin := e.token("reader", "read"), e.token("canceller", "read,cancel"), e.token("admin", "admin")
	submit := func(dir string) string {
		module := dir + "/calc.go"
		if dir == "queued" {
			module = "queued/calc.py" // Python: the worker serves exec for Go only, so it stays queued
		}
		r := e.run(nil, "submit", "--module", module, "--agent", "exec", "--coverage", "90", "--max-attempts", "1",
			"--label", "case="+dir)
		require.Equal(t, 0, r.code, r.stderr)
		return strings.TrimSpace(r.stdout)
	}
	// Two pipeline runs, blocking then parallel, so the runs page has a
	// measured saving to show.
	for _, mode := range [][]string{{"--blocking"}, nil} {
		r := e.run(nil, append([]string{"run", "pipeline.yml"}, mode...)...)
		require.Equal(t, 0, r.code, r.stderr)
	}

	ids := map[string]string{}
	for _, dir := range []string{"good", "drop", "fail", "cancelled"} {
		ids[dir] = submit(dir)
	}
	require.Equal(t, 0, e.run(nil, "cancel", ids["cancelled"]).code)

	e.worker("HANDOFF_EXEC_LANGUAGES=go")
	final := func(id string) {
		e.pollStatus(id, 3*time.Minute, func(st map[string]any) bool { return st["status"] != "QUEUED" && st["status"] != "RUNNING" })
	}
	for _, dir := range []string{"good", "drop", "fail"} {
		final(ids[dir])
	}
	ids["gate"] = submit("gate")
	e.pollStatus(ids["gate"], time.Minute, func(st map[string]any) bool { return st["status"] == "RUNNING" })
	ids["queued"] = submit("queued")

	s := e.serve()
	ctx := browser(t, chrome)

	// A stranger gets the login page, wherever it knocks.
	do(t, ctx, chromedp.Navigate(s.url+"/tasks/"+ids["drop"]), chromedp.WaitVisible(chromedp.CSS("#token")))
	require.Contains(t, page(t, ctx, chromedp.Location()), "/login?next=")
	shot(t, ctx, "login")

	// The reader signs in and lands where it knocked: the dropped test's
	// reason and excerpt.
	signIn(t, ctx, reader)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("li.drop")))
	text := page(t, ctx, chromedp.Text(chromedp.CSS("li.drop")))
	require.Contains(t, text, "TestBroken")
	require.Contains(t, text, "want 5, got 4: broken on purpose", "the excerpt")
	require.Regexp(t, `TestBroken\s+\S+`, text, "a reason code follows the name")
	do(t, ctx, chromedp.ScrollIntoView(chromedp.CSS("#funnel")))
	shot(t, ctx, "task-dropped")

	do(t, ctx, chromedp.Navigate(s.url+"/tasks/"+ids["good"]), chromedp.WaitVisible(chromedp.CSS("svg.funnel")))
	text = page(t, ctx, chromedp.Text(chromedp.CSS("main")))
	require.Contains(t, text, "TestAdd")
	require.Contains(t, text, "Coverage per function")
	require.Positive(t, page(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("pre.code span.k").length`)), "the kept file is highlighted:\n%s", text)
	do(t, ctx, chromedp.ScrollIntoView(chromedp.CSS("#kept")))
	shot(t, ctx, "task")

	// The table: every state, no cancel button for a reader.
	do(t, ctx, chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS("#tasks")))
	want := map[string]string{"good": "COMPLETED", "drop": "COMPLETED", "fail": "FAILED", "cancelled": "CANCELLED", "gate": "RUNNING", "queued": "QUEUED"}
	for dir, state := range want {
		require.Equal(t, state, rowState(t, ctx, ids[dir]), dir)
	}
	require.Zero(t, page(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#tasks button.danger").length`)), "a read token sees no cancel button")
	shot(t, ctx, "tasks")

	// Live: a change made by another process shows within a second, and
	// the page was not reloaded for it.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	require.Equal(t, 0, e.run(nil, "cancel", ids["queued"]).code)
	changed := time.Now()
	seen := waitRow(t, ctx, ids["queued"], "CANCELLED", 5*time.Second)
	require.Less(t, seen.Sub(changed), time.Second, "the cancelled task's row took %s", seen.Sub(changed))
	t.Logf("a cancel by another process showed in the table after %s", seen.Sub(changed))

	// And a worker's change: the gate opens, the task completes.
	write(t, filepath.Join(e.ws, ".gate-gate"), "")
	completed := waitCompleted(t, e, ids["gate"], 3*time.Minute)
	seen = waitRow(t, ctx, ids["gate"], "COMPLETED", 5*time.Second)
	require.Less(t, seen.Sub(completed), time.Second, "the completed task's row took %s", seen.Sub(completed))
	t.Logf("a completion by the worker showed in the table after %s", seen.Sub(completed))
	require.True(t, page(t, ctx, chromedp.Evaluate[bool](`window.notReloaded === true`)), "the rows changed without a reload")

	// Cross-site posts are refused, with a valid session and CSRF token too.
	ids["gate2"] = submit("gate2")
	crossSite(t, s.url, canceller, ids["gate2"])
	require.Contains(t, []any{"QUEUED", "RUNNING"}, e.status(ids["gate2"])["status"], "refused posts cancel nothing")

	// The cancel button, for a token that may cancel.
	signOut(t, ctx)
	signIn(t, ctx, canceller)
	button := chromedp.CSS("#t-" + ids["gate2"] + " button.danger")
	do(t, ctx, chromedp.WaitVisible(button))
	shot(t, ctx, "tasks-cancel")
	do(t, ctx, chromedp.Click(button))
	waitRow(t, ctx, ids["gate2"], "CANCELLED", 10*time.Second)
	require.Equal(t, "CANCELLED", e.status(ids["gate2"])["status"])

	// Filters and the other pages.
	do(t, ctx, chromedp.Navigate(s.url+"/?state=FAILED"), chromedp.WaitVisible(chromedp.CSS("#tasks")))
	require.Equal(t, "FAILED", page(t, ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("#tasks tbody tr")).map(r => r.dataset.state).join(",")`)))

	do(t, ctx, chromedp.Navigate(s.url+"/workers"), chromedp.WaitVisible(chromedp.CSS("main table")))
	require.Contains(t, page(t, ctx, chromedp.Text(chromedp.CSS("main"))), "exec (go")
	shot(t, ctx, "workers")

	do(t, ctx, chromedp.Navigate(s.url+"/runs"), chromedp.WaitVisible(chromedp.CSS("main table")))
	text = page(t, ctx, chromedp.Text(chromedp.CSS("main")))
	require.Equal(t, 2, strings.Count(text, "succeeded"), text)
	shot(t, ctx, "runs")
	do(t, ctx, chromedp.Click(chromedp.CSS("main table a")), chromedp.WaitVisible(chromedp.CSS(".timeline img")))
	text = page(t, ctx, chromedp.Text(chromedp.CSS("main")))
	require.Contains(t, text, "against the blocking run", "the newest run is the parallel one, with its measured saving")
	require.Contains(t, text, "piped/calc.go")
	require.Positive(t, page(t, ctx, chromedp.Poll[int](`document.querySelector(".timeline img").complete && document.querySelector(".timeline img").naturalWidth`)),
		"the timeline picture loads")
	shot(t, ctx, "run")

	// River's UI is for admin tokens.
	do(t, ctx, chromedp.Navigate(s.url+"/riverui/"), chromedp.WaitVisible(chromedp.CSS("main")))
	require.Contains(t, page(t, ctx, chromedp.Text(chromedp.CSS("main"))), "lacks the scope admin")
	signOut(t, ctx)
	signIn(t, ctx, admin)
	do(t, ctx, chromedp.Navigate(s.url+"/riverui/"), chromedp.WaitReady(chromedp.CSS("body")))
	require.True(t, page(t, ctx, chromedp.Poll[bool](`!!document.querySelector("#root") && document.querySelector("#root").innerText.includes("Jobs")`)),
		"River's own UI renders its jobs view for an admin")
	shot(t, ctx, "riverui")

	// The same pages dark, and on a phone.
	do(t, ctx, colorScheme("dark"), chromedp.Navigate(s.url+"/tasks/"+ids["drop"]), chromedp.WaitVisible(chromedp.CSS("li.drop")))
	do(t, ctx, chromedp.ScrollIntoView(chromedp.CSS("#funnel")))
	shot(t, ctx, "task-dropped-dark")
	do(t, ctx, chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS("#tasks")))
	shot(t, ctx, "tasks-dark")
	do(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile), colorScheme("light"),
		chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS("#tasks")))
	require.False(t, page(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)),
		"the tasks page fits a phone's width")
	shot(t, ctx, "tasks-phone")
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, steps...))
}

func page[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err)
	return v
}

// colorScheme makes the page prefer a light or dark theme.
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, target *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, target, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return chromedp.Void{}, err
	}
}

// chromium returns the browser's path, or skips (fails under
// HANDOFF_REQUIRE_ALL=1) without one.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Missing(t, "chromium", "install it (Debian: apt-get install -y chromium) to run the dashboard's browser tests")
	return ""
}

// browser starts a headless chromium at 1280x800 for the test.
func browser(t *testing.T, path string) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.Flag("headless", "new"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	do(t, ctx)
	return ctx
}

func signIn(t *testing.T, ctx context.Context, token string) {
	t.Helper()
	loc := page(t, ctx, chromedp.Location())
	if !strings.Contains(loc, "/login") {
		u, err := url.Parse(loc)
		require.NoError(t, err)
		do(t, ctx, chromedp.Navigate(u.Scheme+"://"+u.Host+"/login"))
	}
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#token")), chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Submit(chromedp.CSS("#token")), chromedp.WaitNotPresent(chromedp.CSS("#token")), chromedp.WaitVisible(chromedp.CSS("main h1")))
}

func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, chromedp.Click(chromedp.CSS("form.who button")), chromedp.WaitVisible(chromedp.CSS("#token")))
}

func rowState(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	return page(t, ctx, chromedp.Evaluate[string](fmt.Sprintf(`(function(){var r=document.getElementById("t-%s");return r?r.dataset.state:""})()`, id)))
}

// waitRow waits for the task's row to show state and returns when it did.
func waitRow(t *testing.T, ctx context.Context, id, state string, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if rowState(t, ctx, id) == state {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s's row never showed %s within %s", id, state, within)
		}
		time.Sleep(10 * time.Millisecond) // polling the page, with a deadline
	}
}

// waitCompleted reads the database directly until the task is COMPLETED
// and returns when it saw it.
func waitCompleted(t *testing.T, e *env, id string, within time.Duration) time.Time {
	t.Helper()
	var path string
	for _, v := range e.vars {
		if p, ok := strings.CutPrefix(v, "HANDOFF_DATABASE_URL="); ok {
			path = p
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	deadline := time.Now().Add(within)
	for {
		var state string
		if err := db.QueryRow(`SELECT state FROM handoff_task WHERE id = ?`, id).Scan(&state); err == nil && state == "COMPLETED" {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s did not complete within %s", id, within)
		}
		time.Sleep(10 * time.Millisecond) // polling the database, with a deadline
	}
}

// crossSite checks that a cancel posted from another site is refused even
// with the session's cookie and CSRF token, and one without the token from
// this site too.
func crossSite(t *testing.T, base, token, id string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	csrf := func(path string) string {
		resp, err := hc.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
		require.NotNil(t, m, "%s: %s", path, b)
		return string(m[1])
	}
	resp, err := hc.PostForm(base+"/login", url.Values{"token": {token}, "csrf": {csrf("/login")}, "next": {"/"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	u, _ := url.Parse(base)
	var session *http.Cookie
	for _, c := range jar.Cookies(u) {
		if c.Name == "handoff_session" {
			session = c
		}
	}
	require.NotNil(t, session, "signed in")
	require.NotContains(t, session.Value, strings.TrimPrefix(token, "hnd_"), "the cookie never holds the token")
	sessionCSRF := csrf("/")

	post := func(form url.Values, headers map[string]string) (int, string) {
		req, _ := http.NewRequest("POST", base+"/tasks/"+id+"/cancel", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post(url.Values{"csrf": {sessionCSRF}}, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
	require.Equal(t, 403, code, body)
	require.Contains(t, body, "cross-site")
	code, body = post(url.Values{"csrf": {sessionCSRF}}, map[string]string{"Origin": "https://evil.example"})
	require.Equal(t, 403, code, "an old browser: Origin alone: %s", body)
	code, body = post(url.Values{}, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": base})
	require.Equal(t, 403, code, body)
	require.Contains(t, body, "CSRF")
	code, body = post(url.Values{"csrf": {"forged"}}, nil)
	require.Equal(t, 403, code, body)
}

// shot saves the page as docs/dashboard/NAME.png with -screenshots.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if !*screenshots {
		return
	}
	png := page(t, ctx, chromedp.CaptureScreenshot())
	require.NoError(t, os.MkdirAll(filepath.Join("..", "..", "docs", "dashboard"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join("..", "..", "docs", "dashboard", name+".png"), png, 0o644))
}
