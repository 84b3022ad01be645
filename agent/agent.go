// Package agent defines the seam every test-writing backend plugs into.
//
// An Agent receives a Task: an isolated task directory (a copy of the user's
// workspace snapshot), the module whose coverage must rise, the output path
// where tests belong and, after the first round, the verification report of
// the previous round. It writes candidate tests inside the task directory and
// returns. It never decides success: handoff harvests what changed in the task
// directory and verifies every test itself (builds, passes, stable, raises
// coverage). Backends live in sub-packages (exec, openhands, builtin) and each
// passes the conformance suite in agent/agenttest.
package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Agent writes candidate tests for one task.
type Agent interface {
	// Name is the name users select the agent by ("exec", "openhands", "builtin").
	Name() string

	// Languages lists the module languages the agent can serve ("go", "python").
	Languages() []string

	// Run writes tests for t.Module into t.Dir and returns when the agent is
	// done. It must return promptly once ctx is done, having stopped all the
	// work it started (processes killed, remote conversations interrupted).
	// A returned error wrapped with Transient may be retried by handoff; any
	// other error ends the task as FAILED.
	Run(ctx context.Context, t *Task) (*Report, error)
}

// Checker is implemented by agents that can tell, without running, whether
// they are configured (a command, a server URL, a key). handoff calls Check at
// Submit so a misconfigured agent is a clear error at once, not a failed task
// minutes later.
type Checker interface {
	Check() error
}

// Configurable is implemented by agents whose settings travel with a task.
// The settings in force where and when a task is submitted (a command line,
// a server URL, a model, limits) are stored with the task, and the worker
// that runs it builds the agent from them with WithSettings, whatever its
// own environment says. Secrets never travel: the worker takes them from its
// own environment, and handoff compares fingerprints of the submitter's and
// the worker's values (Secrets) to know whose secrets a task ran with.
type Configurable interface {
	Agent

	// Settings returns the agent's non-secret settings as JSON. It fails
	// rather than return a secret (a password inside a URL).
	Settings() (json.RawMessage, error)

	// WithSettings returns an agent of this backend configured by settings,
	// as Settings returned them in this or another process, with this
	// agent's own secrets. A setting it does not know is an error: a task
	// must not run with a setting silently dropped.
	WithSettings(settings json.RawMessage) (Agent, error)

	// Secrets returns each secret the agent uses, by the name a user sets
	// it by (an environment variable), with its value in this process; ""
	// when unset. The values must never be logged, stored or shown.
	Secrets() map[string]string
}

// Task is one request to write tests, as an agent sees it. Paths other than
// Dir are slash-separated and relative to Dir.
type Task struct {
	ID        string    // handoff task ID
	Attempt   int       // 1-based attempt number of the task (retries after transient failures)
	Round     int       // 1-based repair round within the attempt
	Dir       string    // absolute path of the task directory; the only place an agent may write
	Module    string    // the module: a .go file, a Go package directory ("." for the root) or a .py file
	Output    string    // where the tests belong
	Language  string    // "go" or "python"
	Threshold float64   // coverage goal for the module, in percent
	Model     string    // requested model; empty means the backend's default
	Prompt    string    // the full instruction for an LLM-driven agent, feedback included
	Feedback  *Feedback // nil in round 1; what verification said of the previous round
	Deadline  time.Time // when the task times out; zero means none
	BudgetUSD float64   // spending limit for an LLM-driven agent, across rounds; zero means the backend's own

	// Log receives the agent's transcript. It is size-capped by handoff and
	// never nil.
	Log io.Writer

	// Progress reports a short live progress line ("conversation running, 12
	// actions"). It is never nil and is cheap to call often.
	Progress func(text string)

	// State is durable storage scoped to this task. It survives worker
	// crashes, so a backend can record a remote conversation ID before it
	// creates the conversation and re-attach to it after a restart.
	State StateStore
}

// StateStore is durable key/value storage scoped to one task.
type StateStore interface {
	Get(ctx context.Context, key string) (value string, ok bool, err error)
	Put(ctx context.Context, key, value string) error
}

// Report is what an agent tells handoff about a run, beyond the files it wrote.
type Report struct {
	// Model is the model that actually produced the tests, if any.
	Model string `json:"model,omitempty"`
	// Summary is a one-paragraph account of what the agent did.
	Summary string `json:"summary,omitempty"`
	// Details holds backend-specific facts for the result: conversation_id,
	// conversation_url, iterations, cost_usd, tokens, ...
	Details map[string]any `json:"details,omitempty"`
	// Unsupported lists functions the agent could not drive, with the reason.
	Unsupported []Unsupported `json:"unsupported,omitempty"`
}

// Unsupported names a function an agent did not test and why.
type Unsupported struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Feedback is the verification report of the previous round, given to an
// agent for a repair round.
type Feedback struct {
	CoverageBefore float64            `json:"coverage_before"`
	CoverageAfter  float64            `json:"coverage_after"`
	Threshold      float64            `json:"threshold"`
	Kept           []string           `json:"kept"`
	Dropped        []Dropped          `json:"dropped"`
	Uncovered      []FunctionCoverage `json:"uncovered"`
	// Text is the same report as prose, ready to paste into a prompt.
	Text string `json:"text"`
}

// Dropped is a generated test that verification rejected.
type Dropped struct {
	Name    string `json:"name"`
	Reason  string `json:"reason"`
	Excerpt string `json:"excerpt,omitempty"`
}

// FunctionCoverage is the statement (Go) or line (Python) coverage of one
// function of the module, in percent.
type FunctionCoverage struct {
	Name    string  `json:"name"`
	Percent float64 `json:"percent"`
}

// ErrUnsupportedLanguage is returned (wrapped) by an agent asked to serve a
// language it does not support.
var ErrUnsupportedLanguage = errors.New("agent does not support this language")

type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// Transient marks err as transient: the same task may succeed if tried again
// (a network fault, a rate limit, a server restart). handoff retries only
// errors marked this way, with backoff, up to the task's attempt limit.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &transientError{err: err}
}

// IsTransient reports whether err, or an error it wraps, was marked Transient.
func IsTransient(err error) bool {
	var t *transientError
	return errors.As(err, &t)
}

// DecodeSettings reads settings, as a Configurable agent's Settings wrote
// them, into v. A field v does not have is an error naming it: a worker
// older than the submitter must not drop a setting silently.
func DecodeSettings(settings json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(settings))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("reading the task's agent settings: %w (is this worker older than the handoff that submitted the task?)", err)
	}
	return nil
}

// ModelOrder is the ordered, de-duplicated list of models an agent tries:
// the task's model (or the configured default when the task names none),
// then the fallbacks (HANDOFF_MODELS).
func ModelOrder(taskModel, defaultModel string, fallbacks []string) []string {
	first := taskModel
	if first == "" {
		first = defaultModel
	}
	var out []string
	seen := map[string]bool{}
	for _, m := range append([]string{first}, fallbacks...) {
		if m != "" && !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}
