package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/internal/snapstore"
)

// server is a running `handoff serve` and what it logged.
type served struct {
	url string
	cmd *exec.Cmd
	mu  sync.Mutex
	log bytes.Buffer
}

func (s *served) logged() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// get fetches path from the server without a token and returns the body.
func (s *served) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get(s.url + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	return string(body)
}

func (s *served) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Write(p)
}

// serve starts `handoff serve` on a free loopback port in the workspace,
// with extra environment, and returns once it listens; it is stopped with
// SIGTERM at the end.
func (e *env) serve(extra ...string) *served {
	e.t.Helper()
	return e.serveWith([]string{"--addr", "127.0.0.1:0"}, extra...)
}

// token creates an API token with `handoff token create` and returns it.
func (e *env) token(name, scopes string) string {
	e.t.Helper()
	r := e.run(nil, "token", "create", "--name", name, "--scope", scopes)
	require.Equal(e.t, 0, r.code, r.stderr)
	tok := strings.TrimSpace(r.stdout)
	require.Regexp(e.t, `^hnd_[A-Za-z0-9_-]{43}$`, tok)
	return tok
}

// serveAt starts `handoff serve --addr addr`, as serve does.
func (e *env) serveAt(addr string, extra ...string) *served {
	e.t.Helper()
	return e.serveWith([]string{"--addr", addr}, extra...)
}

// serveWith starts `handoff serve` with flags, as serve does.
func (e *env) serveWith(flags []string, extra ...string) *served {
	e.t.Helper()
	cmd := exec.Command(binary, append([]string{"serve"}, flags...)...)
	cmd.Dir = e.ws
	cmd.Env = append(append(os.Environ(), e.vars...), extra...)
	stderr, err := cmd.StderrPipe()
	require.NoError(e.t, err)
	require.NoError(e.t, cmd.Start())
	s := &served{cmd: cmd}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(s, sc.Text())
			if m := regexp.MustCompile(`listening on (https?://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				listening <- m[1]
			}
		}
	}()
	e.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if e.t.Failed() {
			e.t.Logf("server log:\n%s", s.logged())
		}
	})
	select {
	case s.url = <-listening:
	case <-time.After(30 * time.Second):
		e.t.Fatalf("handoff serve never said where it listens:\n%s", s.logged())
	}
	return s
}

// call makes one request and decodes a JSON answer into a map.
func call(t *testing.T, method, url, token, contentType string, body []byte) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	}
	return resp.StatusCode, resp.Header, out
}

// scrape reads a Prometheus text exposition: each series, as printed
// (name{labels sorted}), and its value.
func scrape(t *testing.T, url, token string) map[string]float64 {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	require.NoError(t, sc.Err())
	return out
}

func asJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

type tarFile struct {
	name, body, link string
	typ              byte
}

func tarGzOf(t *testing.T, files ...tarFile) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Mode: 0o644, Linkname: f.link}
		if f.typ == tar.TypeReg {
			h.Size = int64(len(f.body))
		}
		require.NoError(t, tw.WriteHeader(h))
		_, err := tw.Write([]byte(f.body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// TestServe drives a real `handoff serve` as a client on another machine
// would: the workspace's files arrive only through the API (the path the
// requests name does not exist on the server), a `handoff worker` runs
// the task from the database, and the client fetches the kept tests and
// records that it wrote them. Every refusal of the contract is checked,
// and no token ever reaches the server's log.
func TestServe(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, dbURL string) {
		e := newEnv(t, dbURL)
		admin, reader, flood := e.token("admin", "admin"), e.token("reader", "read"), e.token("flood", "read")
		s := e.serve("HANDOFF_SNAPSHOT_MAX_TOTAL=1")
		api := s.url + "/v1"
		const clientWS = "/home/someone/calc" // the client's workspace: nothing is there on the server

		// Auth.
		code, hdr, body := call(t, "GET", api+"/tasks", "", "", nil)
		require.Equal(t, 401, code, body)
		require.Contains(t, hdr.Get("WWW-Authenticate"), "Bearer")
		code, _, body = call(t, "GET", api+"/tasks", "hnd_wrong", "", nil)
		require.Equal(t, 401, code, body)
		require.Contains(t, body["detail"], "unknown or revoked")
		code, _, body = call(t, "POST", api+"/trees", reader, "application/json", []byte(`{"entries":[]}`))
		require.Equal(t, 403, code, body)
		require.Contains(t, body["detail"], "lacks the scope submit")

		// A tree, blob by blob.
		gomod, calc := []byte("module example.com/calc\n\ngo 1.22\n"), []byte(agenttest.GoModule)
		entries := map[string]any{"entries": []map[string]any{
			{"path": "go.mod", "mode": "100644", "id": snapstore.BlobID(gomod), "size": len(gomod)},
			{"path": "calc.go", "mode": "100644", "id": snapstore.BlobID(calc), "size": len(calc)},
		}}
		code, _, body = call(t, "POST", api+"/trees", admin, "application/json", asJSON(t, entries))
		require.Equal(t, 200, code, body)
		require.Equal(t, "", body["tree"])
		require.ElementsMatch(t, []any{snapstore.BlobID(gomod), snapstore.BlobID(calc)}, body["missing"])
		code, _, body = call(t, "PUT", api+"/blobs/"+snapstore.BlobID(gomod), admin, "application/octet-stream", calc)
		require.Equal(t, 400, code, body)
		for _, b := range [][]byte{gomod, calc} {
			code, _, body = call(t, "PUT", api+"/blobs/"+snapstore.BlobID(b), admin, "application/octet-stream", b)
			require.Equal(t, 204, code, body)
		}
		code, _, body = call(t, "POST", api+"/trees", admin, "application/json", asJSON(t, entries))
		require.Equal(t, 200, code, body)
		tree := body["tree"].(string)
		require.Len(t, tree, 64)

		// The same files whole, as a tar.gz: the same tree.
		code, _, body = call(t, "POST", api+"/snapshots", admin, "application/gzip", tarGzOf(t,
			tarFile{name: "./go.mod", body: string(gomod), typ: tar.TypeReg}, tarFile{name: "./calc.go", body: string(calc), typ: tar.TypeReg}))
		require.Equal(t, 201, code, body)
		require.Equal(t, tree, body["tree"])
		require.Equal(t, 2.0, body["files"])
		for name, bad := range map[string]tarFile{
			"dotdot":      {name: "../evil.go", body: "x", typ: tar.TypeReg},
			"absolute":    {name: "/etc/evil", body: "x", typ: tar.TypeReg},
			"symlink out": {name: "l", link: "../../etc/passwd", typ: tar.TypeSymlink},
			"device":      {name: "null", typ: tar.TypeChar},
			"fifo":        {name: "pipe", typ: tar.TypeFifo},
		} {
			code, _, body = call(t, "POST", api+"/snapshots", admin, "application/gzip", tarGzOf(t, bad))
			require.Equal(t, 400, code, "%s: %v", name, body)
			require.Contains(t, body["detail"], bad.name, name)
		}
		big := strings.Repeat("x", 600<<10)
		code, _, body = call(t, "POST", api+"/snapshots", admin, "application/gzip", tarGzOf(t,
			tarFile{name: "a", body: big, typ: tar.TypeReg}, tarFile{name: "b", body: big, typ: tar.TypeReg}))
		require.Equal(t, 413, code, body)
		require.Contains(t, body["detail"], "HANDOFF_SNAPSHOT_MAX_TOTAL")
		code, _, body = call(t, "POST", api+"/tasks", admin, "application/json", bytes.Repeat([]byte(" "), 2<<20))
		require.Equal(t, 413, code, body)

		// Submit: refusals as the command line words them, then a task.
		submit := func(req map[string]any) (int, map[string]any) {
			code, _, body := call(t, "POST", api+"/tasks", admin, "application/json", asJSON(t, map[string]any{"tree": tree, "request": req}))
			return code, body
		}
		code, body = submit(map[string]any{"workspace": clientWS, "module": "nope.go", "agent": "exec"})
		require.Equal(t, 422, code, body)
		require.Equal(t, "invalid request: Request.Module: nope.go does not exist in "+clientWS+"; give a path relative to the workspace or working directory", body["detail"])
		code, body = submit(map[string]any{"workspace": clientWS, "module": "calc.go", "agent": "exec", "coverage": 120})
		require.Equal(t, 422, code, body)
		require.Contains(t, body["detail"], "coverage 120 is outside 0..100")
		code, body = submit(map[string]any{"workspace": clientWS, "module": "calc.go", "agent": "exec", "idempotency_key": "k1"})
		require.Equal(t, 201, code, body)
		id := body["task_id"].(string)
		require.Equal(t, "QUEUED", body["status"].(map[string]any)["status"])
		require.Equal(t, clientWS, body["status"].(map[string]any)["workspace"])
		code, body = submit(map[string]any{"workspace": clientWS, "module": "calc.go", "agent": "exec", "idempotency_key": "k1", "runs": 2})
		require.Equal(t, 409, code, body)
		code, _, body = call(t, "GET", api+"/tasks/ffffffff", reader, "", nil)
		require.Equal(t, 404, code, body)

		code, _, body = call(t, "GET", api+"/tasks/"+id+"/result?wait=1s", reader, "", nil)
		require.Equal(t, 202, code, "no worker yet: still live after the wait: %v", body)
		require.Equal(t, "QUEUED", body["status"])

		// A second task, cancelled in the queue.
		code, _, body = call(t, "POST", api+"/task-batches", admin, "application/json", asJSON(t, map[string]any{"tree": tree,
			"requests": []map[string]any{{"workspace": clientWS, "module": "calc.go", "agent": "exec", "labels": map[string]string{"k": "v"}}}}))
		require.Equal(t, 201, code, body)
		other := body["task_ids"].([]any)[0].(string)
		code, _, body = call(t, "POST", api+"/tasks/"+other+"/cancel", reader, "", nil)
		require.Equal(t, 403, code, body)
		code, _, body = call(t, "POST", api+"/tasks/"+other+"/cancel", admin, "", nil)
		require.Equal(t, 200, code, body)
		require.Equal(t, "CANCELLED", body["status"])

		code, _, body = call(t, "GET", api+"/tasks?limit=1", reader, "", nil)
		require.Equal(t, 200, code, body)
		require.Equal(t, other, body["tasks"].([]any)[0].(map[string]any)["task_id"], "newest first")
		code, _, body = call(t, "GET", api+"/tasks?limit=1&cursor="+body["next_cursor"].(string), reader, "", nil)
		require.Equal(t, 200, code, body)
		require.Equal(t, id, body["tasks"].([]any)[0].(map[string]any)["task_id"])
		code, _, body = call(t, "GET", api+"/tasks?state=CANCELLED&label=k=v&agent=exec&module=calc", reader, "", nil)
		require.Equal(t, 200, code, body)
		require.Len(t, body["tasks"], 1)

		// Events: every change of every task, as server-sent events.
		events := make(chan map[string]any, 100)
		req, err := http.NewRequest("GET", api+"/events", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+reader)
		stream, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { stream.Body.Close() })
		require.Equal(t, "text/event-stream", stream.Header.Get("Content-Type"))
		go func() {
			sc := bufio.NewScanner(stream.Body)
			event := ""
			for sc.Scan() {
				line := sc.Text()
				if v, ok := strings.CutPrefix(line, "event: "); ok {
					event = v
				}
				if v, ok := strings.CutPrefix(line, "data: "); ok && event == "task" {
					var st map[string]any
					if json.Unmarshal([]byte(v), &st) == nil {
						events <- st
					}
				}
			}
		}()

		// A worker elsewhere runs it; the result's long-poll returns it.
		e.worker("HANDOFF_WORK_DIR=" + t.TempDir())
		deadline := time.Now().Add(4 * time.Minute)
		for {
			code, _, body = call(t, "GET", api+"/tasks/"+id[len(id)-8:]+"/result?wait=60s", reader, "", nil)
			if code != 202 || time.Now().After(deadline) {
				break
			}
		}
		require.Equal(t, 200, code, body)
		require.Equal(t, true, body["success"], body)
		require.Equal(t, true, body["apply"].(map[string]any)["pending"])
		result := body
		seen := map[string]bool{}
		for !seen["COMPLETED"] {
			select {
			case st := <-events:
				if st["task_id"] == id {
					seen[st["status"].(string)] = true
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("no event of the task's completion; saw %v", seen)
			}
		}
		code, _, body = call(t, "GET", api+"/tasks/"+id+"/files", reader, "", nil)
		require.Equal(t, 200, code, body)
		require.Equal(t, true, body["pending"])
		file := body["files"].([]any)[0].(map[string]any)
		require.Equal(t, "calc_test.go", file["path"])
		content, err := base64.StdEncoding.DecodeString(file["content"].(string))
		require.NoError(t, err)
		require.Contains(t, string(content), "func TestAdd(")
		code, _, body = call(t, "POST", api+"/tasks/"+id+"/applied", admin, "application/json",
			[]byte(`{"applied":true,"files":["calc_test.go"]}`))
		require.Equal(t, 200, code, body)
		require.Equal(t, "submitter", body["apply"].(map[string]any)["where"])
		require.Equal(t, []any{"calc_test.go"}, body["files"])
		code, _, body = call(t, "GET", api+"/tasks/"+id, reader, "", nil)
		require.Equal(t, 200, code, body)
		require.Equal(t, "COMPLETED", body["status"])
		require.NoDirExists(t, clientWS, "nothing was ever written where the request's workspace points")

		// The live workers, for the dashboard.
		code, _, body = call(t, "GET", api+"/workers", reader, "", nil)
		require.Equal(t, 200, code, body)
		require.Len(t, body["workers"], 1)
		w := body["workers"].([]any)[0].(map[string]any)
		require.NotZero(t, w["pid"])
		require.Contains(t, w["capabilities"].(map[string]any)["agents"], "exec")

		// Metrics: an admin token's, counted from the final results.
		code, _, _ = call(t, "GET", s.url+"/metrics", "", "", nil)
		require.Equal(t, 401, code)
		code, _, body = call(t, "GET", s.url+"/metrics", reader, "", nil)
		require.Equal(t, 403, code)
		require.Contains(t, body["detail"], "lacks the scope admin")
		funnel := result["funnel"].(map[string]any)
		want := map[string]float64{
			`handoff_tasks{state="COMPLETED"}`:                               1,
			`handoff_tasks{state="CANCELLED"}`:                               1,
			`handoff_tasks{state="QUEUED"}`:                                  0,
			`handoff_queue_depth`:                                            0,
			`handoff_workers_live`:                                           1,
			`handoff_tasks_finished_total{state="COMPLETED"}`:                1,
			`handoff_tasks_finished_total{state="CANCELLED"}`:                1,
			`handoff_tasks_finished_total{state="FAILED"}`:                   0,
			`handoff_task_duration_seconds_count{state="COMPLETED"}`:         1,
			`handoff_task_phase_duration_seconds_count{phase="agent"}`:       1,
			`handoff_task_phase_duration_seconds_count{phase="verify"}`:      1,
			`handoff_funnel_tests_total{step="generated"}`:                   funnel["generated"].(float64),
			`handoff_funnel_tests_total{step="kept"}`:                        funnel["kept"].(float64),
			`handoff_task_failures_total{class="agent"}`:                     0,
			`handoff_task_failures_total{class="timeout"}`:                   0,
			`handoff_http_requests_total{code="201",route="POST /v1/tasks"}`: 1,
			`handoff_http_requests_total{code="422",route="POST /v1/tasks"}`: 2,
			`handoff_http_requests_total{code="409",route="POST /v1/tasks"}`: 1,
		}
		require.Positive(t, funnel["kept"].(float64))
		var got map[string]float64
		for deadline := time.Now().Add(30 * time.Second); ; {
			got = scrape(t, s.url+"/metrics", admin)
			if got[`handoff_tasks_finished_total{state="COMPLETED"}`] == 1 || time.Now().After(deadline) {
				break // the server's feed counts the task at its next read of the database
			}
		}
		for series, v := range want {
			require.Equal(t, v, got[series], series)
		}
		dur := got[`handoff_task_duration_seconds_sum{state="COMPLETED"}`]
		ms := result["timings"].(map[string]any)
		require.InDelta(t, (ms["queued_ms"].(float64)+ms["run_ms"].(float64))/1000, dur, 0.002)

		// The rate limit: a burst of 40, then 429 with Retry-After.
		var limited *http.Response
		for range 100 {
			req, _ := http.NewRequest("GET", api+"/tasks?limit=1", nil)
			req.Header.Set("Authorization", "Bearer "+flood)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			if resp.StatusCode == 429 {
				limited = resp
				break
			}
		}
		require.NotNil(t, limited, "100 requests at once never met the rate limit")
		require.NotEmpty(t, limited.Header.Get("Retry-After"))

		code, _, _ = call(t, "GET", s.url+"/openapi.json", "", "", nil)
		require.Equal(t, 200, code)
		log := s.logged()
		require.Contains(t, log, "token=admin")
		for _, secret := range []string{admin, reader, flood, "hnd_wrong"} {
			require.NotContains(t, log, secret, "a token in the server's log")
		}
	})
}

// TestServeMetricsPublic: with --metrics-public, /metrics needs no token
// and counts the requests it saw; the API still does.
func TestServeMetricsPublic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	s := e.serveWith([]string{"--addr", "127.0.0.1:0", "--metrics-public"})
	code, _, _ := call(t, "GET", s.url+"/v1/workers", "", "", nil)
	require.Equal(t, 401, code)
	got := scrape(t, s.url+"/metrics", "")
	require.Equal(t, 1.0, got[`handoff_http_requests_total{code="401",route="GET /v1/workers"}`])
	require.Equal(t, 0.0, got[`handoff_workers_live`])
	require.Contains(t, got, `handoff_tasks{state="RUNNING"}`)
	require.Contains(t, got, "process_resident_memory_bytes")
}

// TestServeStopEndsLongPolls: a result wait in flight when the server is
// told to stop ends at once with 503 and Retry-After, which clients
// retry, and the server exits without using up its grace: the wait does
// not outlive the shutdown and meet a closed database (a 500 the client
// would not retry).
func TestServeStopEndsLongPolls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	token := e.token("ci", "submit,read")
	s := e.serveWith([]string{"--addr", "127.0.0.1:0", "--grace", "2m", "--metrics-public"})
	client := &env{t: t, ws: e.ws, vars: []string{"HANDOFF_SERVER=" + s.url, "HANDOFF_TOKEN=" + token, "HANDOFF_EXEC_COMMAND=" + goodTests}}
	r := client.run(nil, "submit", "--module", "calc.go", "--agent", "exec")
	require.Equal(t, 0, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)

	// No worker runs: the task stays queued and the wait lasts.
	req, err := http.NewRequest(http.MethodGet, s.url+"/v1/tasks/"+id+"/result?wait=90s", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	type answer struct {
		resp *http.Response
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		got <- answer{resp, err}
	}()
	// The wait is being answered once the server counts two requests in
	// flight: it and the /metrics request asking.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.get(t, "/metrics"), "handoff_http_requests_in_flight 2\n") {
		require.True(t, time.Now().Before(deadline), "the wait never reached the server")
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	a := <-got
	require.NoError(t, a.err)
	defer a.resp.Body.Close()
	body, _ := io.ReadAll(a.resp.Body)
	require.Equal(t, http.StatusServiceUnavailable, a.resp.StatusCode, "%s\n%s", body, s.logged())
	require.Equal(t, "1", a.resp.Header.Get("Retry-After"))
	require.Contains(t, string(body), "the server is stopping")

	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	select {
	case err := <-exited:
		require.NoError(t, err, s.logged())
	case <-time.After(time.Minute):
		t.Fatalf("handoff serve still runs a minute after SIGTERM, its grace 2m:\n%s", s.logged())
	}
}

// TestServeTLS: with --tls-cert and --tls-key the server speaks HTTPS
// only, and the command line reaches it with a certificate it trusts
// (SSL_CERT_FILE, as for any Go program).
func TestServeTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	certFile, keyFile, roots := selfSigned(t)
	token := e.token("ci", "read")
	s := e.serveWith([]string{"--addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile})
	require.True(t, strings.HasPrefix(s.url, "https://"), s.url)

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := hc.Get(s.url + "/healthz")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ok", string(body))

	// Plain HTTP on the same port gets no API.
	resp, err = http.Get("http://" + strings.TrimPrefix(s.url, "https://") + "/v1/workers")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	// A client that does not trust the certificate is refused.
	client := &env{t: t, ws: e.ws, vars: []string{"HANDOFF_SERVER=" + s.url, "HANDOFF_TOKEN=" + token}}
	r := client.run([]string{"SSL_CERT_FILE=" + os.DevNull}, "workers", "--json")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "certificate is not trusted here; give its CA with SSL_CERT_FILE", "refused at once, not retried")
	// One that does is served.
	r = client.run([]string{"SSL_CERT_FILE=" + certFile}, "workers", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	require.True(t, json.Valid([]byte(r.stdout)), r.stdout)
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their files and a pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "handoff test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}
