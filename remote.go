package handoff

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/runner"
	"github.com/handoff-dev/handoff/internal/store"
	"github.com/handoff-dev/handoff/internal/workspace"
)

// Tasks is what Client and Remote both do: a program written against it
// works with the database directly or through a handoff server.
type Tasks interface {
	Submit(ctx context.Context, r Request) (string, error)
	SubmitMany(ctx context.Context, rs []Request) ([]string, error)
	Status(ctx context.Context, id string) (*Status, error)
	Wait(ctx context.Context, id string, w WaitOptions) (*Result, error)
	Generate(ctx context.Context, r Request, w WaitOptions) (*Result, error)
	Cancel(ctx context.Context, id string) (*Status, error)
	List(ctx context.Context, f ListFilter) ([]*Status, error)
	Apply(ctx context.Context, id string) (*Result, error)
	Close(ctx context.Context) error
}

var (
	_ Tasks = (*Client)(nil)
	_ Tasks = (*Remote)(nil)
)

// ErrUnauthorized is returned by a Remote whose token the server refuses
// (missing, unknown, revoked) or whose scope lacks what the call needs.
var ErrUnauthorized = errors.New("the server refused the token")

// RemoteConfig configures a Remote. Server is required; the rest works
// from its zero value as Config's fields do.
type RemoteConfig struct {
	// Server is the base URL of `handoff serve` ("https://handoff.internal").
	// FromEnv: HANDOFF_SERVER.
	Server string
	// Token is a bearer token from `handoff token create`. FromEnv:
	// HANDOFF_TOKEN. It is sent in a header, never on a command line or in a
	// log line.
	Token string
	// Workspace, Agents and DefaultAgent are as in Config: requests are
	// checked here, against the local workspace, before anything is sent.
	Workspace    string
	Agents       []agent.Agent
	DefaultAgent string
	// HTTPClient sends the requests; nil means a client with no overall
	// timeout (long polls hold a request open) over http.DefaultTransport.
	HTTPClient *http.Client
}

// FromEnv fills Server, Token and DefaultAgent from HANDOFF_SERVER,
// HANDOFF_TOKEN and HANDOFF_AGENT when they are empty.
func (c RemoteConfig) FromEnv() RemoteConfig {
	if c.Server == "" {
		c.Server = os.Getenv("HANDOFF_SERVER")
	}
	if c.Token == "" {
		c.Token = os.Getenv("HANDOFF_TOKEN")
	}
	if c.DefaultAgent == "" {
		c.DefaultAgent = os.Getenv("HANDOFF_AGENT")
	}
	return c
}

// Remote is a client of a handoff server (`handoff serve`) with Client's
// calls. Submit checks each request here, snapshots the local workspace,
// sends the server only the file contents it lacks, and queues the tasks
// there; Wait, Generate and Apply write the kept tests into the local
// workspace under the rules a worker applies them by. Network errors and a
// restarting server are retried until the call's context ends.
type Remote struct {
	base   *url.URL
	token  string
	http   *http.Client
	local  *Client // validation against the local workspace; no database
	runner *runner.Runner
}

// OpenRemote returns a client of the server cfg names. It checks the
// configuration only: the first call reaches the server.
func OpenRemote(cfg RemoteConfig) (*Remote, error) {
	if cfg.Server == "" {
		return nil, fieldError("RemoteConfig.Server", "no server given; set HANDOFF_SERVER to the URL of `handoff serve`, e.g. http://127.0.0.1:8080")
	}
	u, err := url.Parse(cfg.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fieldError("RemoteConfig.Server", "%q is not an http:// or https:// URL; set it like http://127.0.0.1:8080", cfg.Server)
	}
	if cfg.Token == "" {
		return nil, fieldError("RemoteConfig.Token", "no token given; create one on the server with `handoff token create --name NAME --scope submit,read` and set HANDOFF_TOKEN")
	}
	local, err := newClient(Config{Workspace: cfg.Workspace, Agents: cfg.Agents, DefaultAgent: cfg.DefaultAgent})
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Remote{base: u, token: cfg.Token, http: hc, local: local,
		runner: &runner.Runner{Agents: local.agents}}, nil
}

// Close releases nothing held across calls; it is there for Tasks.
func (r *Remote) Close(context.Context) error { return nil }

// Server is the server's URL, for messages.
func (r *Remote) Server() string { return r.base.String() }

// remoteTask is what Submit keeps in the workspace's state directory for
// each task it queued on a server: the local snapshot the kept tests are
// applied against, and the request as checked here.
type remoteTask struct {
	Server   string             `json:"server"`
	Request  Request            `json:"request"`
	Language string             `json:"language"`
	Snapshot workspace.Snapshot `json:"snapshot"`
}

// Submit checks r here, sends the workspace's files the server lacks, and
// queues the task there. It returns the task ID.
func (r *Remote) Submit(ctx context.Context, req Request) (string, error) {
	ids, err := r.SubmitMany(ctx, []Request{req})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// SubmitMany submits several requests as Client.SubmitMany does: all
// checked first, one snapshot per workspace, all queued or none.
func (r *Remote) SubmitMany(ctx context.Context, rs []Request) ([]string, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	ps, err := r.local.prepare(rs, localFiles{r.local})
	if err != nil {
		return nil, err
	}
	root := ps[0].norm.Workspace
	for _, p := range ps[1:] {
		if p.norm.Workspace != root {
			return nil, fmt.Errorf("%w: a batch sent to a server comes from one workspace (%s and %s); submit each workspace's requests on their own",
				ErrInvalidRequest, root, p.norm.Workspace)
		}
	}
	snapIDs := make([]string, len(ps))
	for i := range ps {
		snapIDs[i] = "remote-" + uuid.Must(uuid.NewV7()).String()
	}
	snaps, err := workspace.TakeMany(ctx, root, snapIDs)
	if err != nil {
		return nil, fmt.Errorf("snapshotting workspace %s: %w", root, err)
	}
	release := func() {
		for _, s := range snaps {
			_ = s.Release(context.WithoutCancel(ctx))
		}
	}
	tree, err := r.upload(ctx, snaps[0])
	if err != nil {
		release()
		return nil, err
	}
	reqs := make([]Request, len(ps))
	for i, p := range ps {
		reqs[i] = p.norm
	}
	var out struct {
		IDs []string `json:"task_ids"`
	}
	if err := r.call(ctx, http.MethodPost, "/v1/task-batches", map[string]any{"tree": tree, "requests": reqs}, &out); err != nil {
		release()
		return nil, err
	}
	if len(out.IDs) != len(ps) {
		release()
		return nil, fmt.Errorf("the server answered %d task IDs for %d requests", len(out.IDs), len(ps))
	}
	if _, err := workspace.EnsureStateDir(root); err != nil {
		return out.IDs, err
	}
	for i, id := range out.IDs {
		b, _ := json.Marshal(remoteTask{Server: r.base.String(), Request: ps[i].norm, Language: ps[i].lang, Snapshot: snaps[i]})
		if err := workspace.WriteRemoteTask(root, id, b); err != nil {
			return out.IDs, fmt.Errorf("task %s is queued, but remembering it here failed (its kept tests cannot be applied here): %w", id, err)
		}
	}
	return out.IDs, nil
}

// upload makes the server hold the snapshot's tree: it sends the list of
// files, then the contents the server lacks, and returns the tree's ID.
func (r *Remote) upload(ctx context.Context, s workspace.Snapshot) (string, error) {
	src, err := s.Source()
	if err != nil {
		return "", err
	}
	t, err := src.Tree(ctx)
	if err != nil {
		return "", fmt.Errorf("listing the workspace's files: %w", err)
	}
	body := map[string]any{"entries": t.Entries}
	for round := 0; ; round++ {
		var out struct {
			Tree    string   `json:"tree"`
			Missing []string `json:"missing"`
		}
		if err := r.call(ctx, http.MethodPost, "/v1/trees", body, &out); err != nil {
			return "", err
		}
		if len(out.Missing) == 0 && out.Tree != "" {
			return out.Tree, nil
		}
		if round > 0 {
			return "", fmt.Errorf("the server still lacks %d file content(s) after they were sent (is it pruning?); submit again", len(out.Missing))
		}
		err := src.Read(ctx, out.Missing, func(id string, content []byte) error {
			return r.send(ctx, http.MethodPut, "/v1/blobs/"+url.PathEscape(id), "application/octet-stream", content, nil)
		})
		if err != nil {
			return "", fmt.Errorf("sending the workspace's files: %w", err)
		}
	}
}

// Status reads a task's state on the server.
func (r *Remote) Status(ctx context.Context, id string) (*Status, error) {
	var st Status
	if err := r.call(ctx, http.MethodGet, "/v1/tasks/"+url.PathEscape(id), nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Cancel cancels a task on the server and returns its status after the
// request.
func (r *Remote) Cancel(ctx context.Context, id string) (*Status, error) {
	var st Status
	if err := r.call(ctx, http.MethodPost, "/v1/tasks/"+url.PathEscape(id)+"/cancel", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// List lists tasks on the server, newest first, as Client.List does.
func (r *Remote) List(ctx context.Context, f ListFilter) ([]*Status, error) {
	q := url.Values{}
	for _, s := range f.States {
		q.Add("state", string(s))
	}
	if f.Label != "" {
		q.Set("label", f.Label)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var all []*Status
	cursor := ""
	for {
		page := url.Values{}
		for k, v := range q {
			page[k] = v
		}
		if limit > 0 {
			page.Set("limit", strconv.Itoa(min(limit-len(all), 500)))
		}
		if cursor != "" {
			page.Set("cursor", cursor)
		}
		var out struct {
			Tasks      []*Status `json:"tasks"`
			NextCursor string    `json:"next_cursor"`
		}
		if err := r.call(ctx, http.MethodGet, "/v1/tasks?"+page.Encode(), nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Tasks...)
		if out.NextCursor == "" || (limit > 0 && len(all) >= limit) || len(out.Tasks) == 0 {
			return all, nil
		}
		cursor = out.NextCursor
	}
}

// Workers lists the live workers of the server's database, oldest first.
func (r *Remote) Workers(ctx context.Context) ([]Worker, error) {
	var out struct {
		Workers []Worker `json:"workers"`
	}
	if err := r.call(ctx, http.MethodGet, "/v1/workers", nil, &out); err != nil {
		return nil, err
	}
	return out.Workers, nil
}

// maxLongPoll is the longest wait one result request asks the server for.
const maxLongPoll = 30 * time.Second

// Wait waits for a task's final result, as Client.Wait does, with long
// polls that the server ends early when the task does; on timeout the
// error matches ErrWaitTimeout and the task keeps running. Kept tests that
// wait to be applied are written into this workspace when it submitted the
// task.
func (r *Remote) Wait(ctx context.Context, id string, w WaitOptions) (*Result, error) {
	var deadline time.Time
	if w.Timeout > 0 {
		deadline = time.Now().Add(w.Timeout)
	}
	for {
		poll := maxLongPoll
		if !deadline.IsZero() {
			poll = min(poll, time.Until(deadline))
		}
		res, err := r.result(ctx, id, max(poll, 0))
		if err != nil {
			return nil, err
		}
		if res != nil {
			return r.applyPending(ctx, res)
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%w: task %s after %s", ErrWaitTimeout, id, w.Timeout)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// Generate submits req and waits for its result.
func (r *Remote) Generate(ctx context.Context, req Request, w WaitOptions) (*Result, error) {
	id, err := r.Submit(ctx, req)
	if err != nil {
		return nil, err
	}
	return r.Wait(ctx, id, w)
}

// Apply writes a finished task's waiting kept tests into this workspace,
// as Client.Apply does. The workspace must be the one that submitted it.
func (r *Remote) Apply(ctx context.Context, id string) (*Result, error) {
	res, err := r.result(ctx, id, 0)
	if err != nil {
		return nil, err
	}
	if res == nil {
		st, err := r.Status(ctx, id)
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: task %s is %s; its kept tests can be applied once it has finished", ErrInvalidRequest, st.ID, st.State)
	}
	if res.Apply.Pending && r.record(res.TaskID) == nil {
		return res, fmt.Errorf("%w: run it in the workspace that submitted task %s", ErrNotHere, res.TaskID)
	}
	return r.applyPending(ctx, res)
}

// result reads the task's result, waiting up to wait for it to end; nil
// when it is still live.
func (r *Remote) result(ctx context.Context, id string, wait time.Duration) (*Result, error) {
	path := "/v1/tasks/" + url.PathEscape(id) + "/result"
	if wait > 0 {
		path += "?wait=" + strconv.FormatInt(wait.Milliseconds(), 10) + "ms"
	}
	var raw json.RawMessage
	status, err := r.do(ctx, http.MethodGet, path, "", nil, &raw)
	if err != nil {
		return nil, err
	}
	if status == http.StatusAccepted {
		return nil, nil
	}
	var res Result
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("reading the server's result: %w", err)
	}
	return &res, nil
}

// record reads what Submit remembered of task id in this workspace; nil
// when this workspace did not submit it.
func (r *Remote) record(id string) *remoteTask {
	p, err := workspace.RemoteTaskFile(r.local.workspace, id)
	if err != nil {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	var t remoteTask
	if json.Unmarshal(b, &t) != nil || t.Snapshot.ID == "" {
		return nil
	}
	return &t
}

// applyPending writes res's waiting kept tests into this workspace when it
// submitted the task, tells the server, and lets go of the local snapshot
// once nothing waits.
func (r *Remote) applyPending(ctx context.Context, res *Result) (*Result, error) {
	t := r.record(res.TaskID)
	if t == nil {
		return res, nil
	}
	done := func() {
		_ = t.Snapshot.Release(context.WithoutCancel(ctx))
		if p, err := workspace.RemoteTaskFile(r.local.workspace, res.TaskID); err == nil {
			_ = os.Remove(p)
		}
	}
	if !res.Apply.Pending {
		done()
		return res, nil
	}
	var files struct {
		Files []struct {
			Path    string `json:"path"`
			Content []byte `json:"content"`
		} `json:"files"`
	}
	if err := r.call(ctx, http.MethodGet, "/v1/tasks/"+url.PathEscape(res.TaskID)+"/files", nil, &files); err != nil {
		return nil, err
	}
	kept := map[string][]byte{}
	for _, f := range files.Files {
		kept[f.Path] = f.Content
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("applying the kept tests of task %s: the server holds none any more", res.TaskID)
	}
	rec := &store.Record{ID: res.TaskID, Request: t.Request, Language: t.Language, Snapshot: t.Snapshot}
	if err := r.runner.ApplyWaiting(ctx, rec, res, kept); err != nil {
		return nil, fmt.Errorf("applying the kept tests of task %s: %w", res.TaskID, err)
	}
	var recorded Result
	if err := r.call(ctx, http.MethodPost, "/v1/tasks/"+url.PathEscape(res.TaskID)+"/applied",
		map[string]any{"applied": res.Apply.Applied, "reason": res.Apply.Reason, "stale": res.Apply.Stale,
			"redropped": res.Apply.Redropped, "files": res.Files}, &recorded); err != nil {
		return res, fmt.Errorf("the kept tests of task %s are written here, but telling the server failed: %w", res.TaskID, err)
	}
	done()
	return res, nil
}

// call sends a JSON body (nil for none) and decodes a JSON answer into out
// (nil to ignore it).
func (r *Remote) call(ctx context.Context, method, path string, body, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	ctype := ""
	if body != nil {
		ctype = "application/json"
	}
	return r.send(ctx, method, path, ctype, b, out)
}

func (r *Remote) send(ctx context.Context, method, path, ctype string, body []byte, out any) error {
	_, err := r.do(ctx, method, path, ctype, body, out)
	return err
}

// do sends one request, again after network errors, 502, 503 and 504 (a
// server restarting) and 429 (after its Retry-After), until ctx ends. It
// returns the status of a 2xx answer, whose JSON it decodes into out; any
// other answer is an error carrying the server's message.
func (r *Remote) do(ctx context.Context, method, path, ctype string, body []byte, out any) (int, error) {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, r.base.String()+path, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+r.token)
		req.Header.Set("Accept", "application/json")
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := r.http.Do(req)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			if why := notTransient(err); why != "" {
				return 0, fmt.Errorf("%s %s: %s: %w", method, r.base.Host, why, err)
			}
			wait = backoff
		case resp.StatusCode == http.StatusTooManyRequests:
			wait = retryAfter(resp.Header.Get("Retry-After"), backoff)
		case resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusGatewayTimeout:
			wait = backoff
		default:
			defer resp.Body.Close()
			data, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			if rerr != nil {
				return 0, fmt.Errorf("reading the server's answer: %w", rerr)
			}
			if resp.StatusCode/100 != 2 {
				return resp.StatusCode, problemError(resp.StatusCode, data)
			}
			if out != nil && len(data) > 0 && resp.StatusCode != http.StatusNoContent {
				if err := json.Unmarshal(data, out); err != nil {
					return resp.StatusCode, fmt.Errorf("reading the server's answer to %s %s: %w", method, path, err)
				}
			}
			return resp.StatusCode, nil
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
		jitter := time.Duration(rand.Int64N(int64(wait)/2 + 1))
		t := time.NewTimer(wait + jitter)
		select {
		case <-ctx.Done():
			t.Stop()
			if err != nil {
				return 0, fmt.Errorf("%w (server %s unreachable: %v)", ctx.Err(), r.base.Host, err)
			}
			return 0, ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// notTransient says why a request's error will not go away by asking
// again (the server's certificate is not trusted, it does not speak TLS),
// or "" for an error worth retrying.
func notTransient(err error) string {
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var record tls.RecordHeaderError
	switch {
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		return "the server's certificate is not trusted here; give its CA with SSL_CERT_FILE, or fix the certificate"
	case errors.As(err, &record):
		return "the server does not speak TLS; use an http:// URL in HANDOFF_SERVER"
	}
	return ""
}

// retryAfter reads a Retry-After header in seconds; def when absent.
func retryAfter(h string, def time.Duration) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	return def
}

// problemError turns a server's error answer (RFC 9457 problem JSON) into
// an error matching the Client's sentinels.
func problemError(status int, body []byte) error {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Errors []struct {
			Message  string `json:"message"`
			Location string `json:"location"`
		} `json:"errors"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &p) == nil && (p.Detail != "" || p.Title != "") {
		msg = p.Detail
		if msg == "" {
			msg = p.Title
		}
		for _, e := range p.Errors {
			if e.Message != "" && !strings.Contains(msg, e.Message) {
				msg += "; " + e.Message
			}
		}
	}
	if len(msg) > 2000 {
		msg = msg[:2000] + "…"
	}
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge:
		return fmt.Errorf("%w: %s", ErrInvalidRequest, strings.TrimPrefix(msg, ErrInvalidRequest.Error()+": "))
	case http.StatusNotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, msg)
	case http.StatusConflict:
		return fmt.Errorf("%w: %s", ErrIdempotencyConflict, msg)
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w (%d): %s", ErrUnauthorized, status, msg)
	}
	return fmt.Errorf("the server answered %d: %s", status, msg)
}
