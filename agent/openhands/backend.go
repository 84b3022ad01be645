package openhands

import (
	"context"
	"errors"

	"github.com/handoff-dev/handoff/agent"
)

// Conversation states beyond the agent server's execution_status values,
// used for Cloud's sandbox life cycle.
const (
	statusStarting      = "starting"       // Cloud: start task or sandbox not ready yet
	statusSandboxPaused = "sandbox_paused" // Cloud paused the sandbox (not terminal)
	statusSandboxError  = "sandbox_error"  // Cloud sandbox ERROR or MISSING (terminal)
)

// snapshot is a conversation's state at one poll.
type snapshot struct {
	status           string // execution_status, or one of the status* constants above
	costUSD          float64
	promptTokens     int64
	completionTokens int64
	url              string
	model            string // the model the server reports, when it does
}

// startSpec is what a backend needs to create a conversation.
type startSpec struct {
	id     string
	model  string
	prompt string
	task   *agent.Task
	// startTask is a Cloud start task recorded by an earlier worker, and
	// onStartTask records a new one before waiting for it.
	startTask   string
	onStartTask func(ctx context.Context, id string) error
}

// errAlreadyRunning is what resume returns when the server answers 409.
var errAlreadyRunning = errors.New("openhands: the server says the conversation is already running")

// harvested is what harvest brought back.
type harvested struct {
	files      []string // written or removed in the task directory
	unreadable []string // changed on the server, but the server could not give their contents
}

// errUnreadable is what a harvest's fetch returns for a file the server
// lists as changed but cannot read: it is left alone and reported.
var errUnreadable = errors.New("openhands: the server could not read the file")

// errUnsupported is returned by operations a target does not offer.
var errUnsupported = errors.New("openhands: not supported by this server")

// backend is one OpenHands API: the agent server or the V1 app server.
type backend interface {
	// find returns the conversation's state, or ok false when the server
	// does not know the ID.
	find(ctx context.Context, id string) (s snapshot, ok bool, err error)
	// create prepares the workspace and creates and starts the conversation
	// idempotently; it returns the ID the server uses for it.
	create(ctx context.Context, spec startSpec) (string, error)
	// events returns one page of events starting at pageID ("" for the first).
	events(ctx context.Context, id, pageID string) (eventPage, error)
	// cursor is the page ID to resume reading events from, given how many
	// events were read so far and the ID of the last one.
	cursor(read int, lastID string) string
	// resume asks a conversation in the given paused or idle status to run.
	resume(ctx context.Context, id, status string) error
	// pause stops a running conversation; it is not an error if it is not running.
	pause(ctx context.Context, id string) error
	// remove deletes the conversation; it is not an error if it is gone.
	remove(ctx context.Context, id string) error
	// confirm answers a conversation waiting for confirmation.
	confirm(ctx context.Context, id string, accept bool) error
	// harvest brings the files the agent changed into the task directory
	// and returns their slash-separated paths (files nil when the server
	// wrote them there itself).
	harvest(ctx context.Context, id string, t *agent.Task) (harvested, error)
	// uptime returns how long the server has been up, when it says.
	uptime(ctx context.Context) (seconds float64, ok bool)
	// version returns the release of the agent server running the
	// conversation, from /server_info; "" when it does not say.
	version(ctx context.Context, id string) string
	// readsNeedRunning says results cannot be read once the conversation
	// is paused (Cloud pauses the sandbox): read them first.
	readsNeedRunning() bool
}
