package openhands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/handoff-dev/handoff/agent"
)

// client sends requests to one server with authentication, retries
// (Retry-After on 429, capped exponential backoff with full jitter on 5xx and
// connection errors) and a circuit breaker shared by every task that talks to
// the same server.
type client struct {
	base    string // without a trailing slash
	cfg     Config
	breaker *gobreaker.TwoStepCircuitBreaker[struct{}]
	secrets []string // values scrubbed from every message built from a server answer
	// pathStyle is set once the server answered the path-style file and git
	// routes of releases before 1.12 and not the query-style ones.
	pathStyle atomic.Bool
}

// call is one request.
type call struct {
	method, path string
	query        url.Values
	json         any    // encoded as the JSON body when not nil
	body         []byte // raw body when json is nil
	contentType  string
	accept       []int // status codes other than 2xx returned without error
	// baseURL, when set, replaces the server's base URL, and sessionKey is
	// then sent as X-Session-API-Key instead of the configured key: a Cloud
	// sandbox's own agent server.
	baseURL, sessionKey string
}

// answer is a server's answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a *answer) decode(v any) error {
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("openhands: decoding the server's answer: %w", err)
	}
	return nil
}

// do sends c, retrying faults, and returns the answer. Statuses ≥ 400 that
// c.accept does not list come back as *statusError; faults that outlasted
// the retries come back wrapped in *retryable.
func (cl *client) do(ctx context.Context, c call) (*answer, error) {
	var payload []byte
	ctype := c.contentType
	if c.json != nil {
		var err error
		if payload, err = json.Marshal(c.json); err != nil {
			return nil, fmt.Errorf("openhands: encoding %s %s: %w", c.method, c.path, err)
		}
		ctype = "application/json"
	} else {
		payload = c.body
	}
	u := cl.base + c.path
	if c.baseURL != "" {
		u = strings.TrimRight(c.baseURL, "/") + c.path
	}
	if len(c.query) > 0 {
		u += "?" + c.query.Encode()
	}
	var last error
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a, err := cl.once(ctx, c, u, payload, ctype)
		var wait time.Duration
		switch {
		case errors.Is(err, ErrCircuitOpen):
			return nil, err
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			last = fmt.Errorf("openhands: %s %s: %s", c.method, c.path, cl.redact(err.Error()))
			wait = cl.backoff(attempt)
		case a.status == http.StatusTooManyRequests:
			last = cl.statusErr(c, a)
			ra, ok := retryAfter(a.header.Get("Retry-After"), time.Now())
			if !ok {
				ra = cl.backoff(attempt)
			}
			if ra > cl.cfg.MaxRetryAfter {
				return nil, &retryable{fmt.Errorf("%w (rate limited; the server asks to wait %s, more than the %s handoff waits)",
					last, ra.Round(time.Second), cl.cfg.MaxRetryAfter)}
			}
			wait = ra
		case a.status >= 500:
			last = cl.statusErr(c, a)
			wait = cl.backoff(attempt)
		case a.status == http.StatusUnauthorized || a.status == http.StatusForbidden:
			return nil, cl.authErr(c, a)
		case a.status >= 400 && !slices.Contains(c.accept, a.status):
			return nil, cl.statusErr(c, a)
		default:
			return a, nil
		}
		if attempt >= cl.cfg.MaxRetries {
			return nil, &retryable{fmt.Errorf("%w (gave up after %d tries)", last, attempt+1)}
		}
		cl.cfg.Logger.DebugContext(ctx, "openhands: retrying", "method", c.method, "path", c.path,
			"attempt", attempt+1, "wait", wait, "error", last)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// once sends one request through the circuit breaker. Answers below 500
// count as the server being healthy; 5xx and transport errors count against it.
func (cl *client) once(ctx context.Context, c call, u string, payload []byte, ctype string) (*answer, error) {
	done, err := cl.breaker.Allow()
	if err != nil {
		return nil, agent.Transient(fmt.Errorf("%w: %s did not answer %d requests in a row; handoff fails tasks at once "+
			"for %s, then tries again (check that the server is up)", ErrCircuitOpen, cl.base, cl.cfg.BreakerFailures,
			cl.cfg.BreakerCooldown))
	}
	a, err := cl.send(ctx, c, u, payload, ctype)
	switch {
	case err != nil:
		done(err)
	case a.status >= 500:
		done(fmt.Errorf("status %d", a.status))
	default:
		done(nil)
	}
	return a, err
}

func (cl *client) send(ctx context.Context, c call, u string, payload []byte, ctype string) (*answer, error) {
	ctx, cancel := context.WithTimeout(ctx, cl.cfg.RequestTimeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, u, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	switch {
	case c.baseURL != "":
		if c.sessionKey != "" {
			req.Header.Set("X-Session-API-Key", c.sessionKey)
		}
	case cl.cfg.APIKey != "":
		if strings.EqualFold(cl.cfg.AuthHeader, "Authorization") {
			req.Header.Set("Authorization", "Bearer "+cl.cfg.APIKey)
		} else {
			req.Header.Set(cl.cfg.AuthHeader, cl.cfg.APIKey)
		}
	}
	resp, err := cl.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// backoff is the capped exponential backoff with full jitter for a retry.
func (cl *client) backoff(attempt int) time.Duration {
	d := cl.cfg.BackoffBase << min(attempt, 20)
	if d <= 0 || d > cl.cfg.BackoffMax {
		d = cl.cfg.BackoffMax
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func (cl *client) statusErr(c call, a *answer) error {
	return &statusError{Method: c.method, Path: c.path, Code: a.status, Body: cl.redact(oneLine(string(a.body), 300))}
}

func (cl *client) authErr(c call, a *answer) error {
	fix := "set OPENHANDS_API_KEY to the server's session API key (the agent server's SESSION_API_KEY)"
	if cl.cfg.Target == TargetCloud {
		fix = "set OPENHANDS_API_KEY to an OpenHands Cloud API key; if the server expects another header, " +
			"set OPENHANDS_AUTH_HEADER (Authorization or X-Access-Token)"
	}
	if cl.cfg.APIKey == "" {
		fix = "OPENHANDS_API_KEY is empty: " + fix
	}
	return fmt.Errorf("%w: %s %s%s answered %d; %s", ErrUnauthorized, c.method, cl.base, c.path, a.status, fix)
}

// redact removes every configured secret from s.
func (cl *client) redact(s string) string {
	for _, sec := range cl.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
