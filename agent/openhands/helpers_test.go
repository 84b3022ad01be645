package openhands_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/agent/openhands"
	"github.com/handoff-dev/handoff/agent/openhands/openhandstest"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// Secrets used by every test; none may ever appear in a log, progress line,
// report or error.
const (
	sessionKey = "session-key-5ecret-3f9a"
	llmKey     = "sk-llm-5ecret-77b1"
)

// goTest is the test file the scripted agent writes for the Go fixture.
const goTest = `package calc

import "testing"

func TestAdd(t *testing.T) {
	if Add(2, 3) != 5 {
		t.Fatal("Add(2, 3) != 5")
	}
}
`

const pyTest = `from calc import add


def test_add():
    assert add(2, 3) == 5
`

// fixtureFiles writes the test file that fits the module found in dir.
func fixtureFiles(dir string) map[string]string {
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		return map[string]string{"calc_test.go": goTest}
	}
	return map[string]string{"tests/test_calc.py": pyTest}
}

// bundle is what one test works with.
type bundle struct {
	srv   *openhandstest.Server
	cfg   openhands.Config
	task  *agent.Task
	log   *bytes.Buffer
	state *agenttest.MemoryState
	prog  *progress
	slog  *testenv.Buffer // the agent's structured log
}

// progress records progress lines and signals the first one.
type progress struct {
	mu    sync.Mutex
	lines []string
	first chan struct{}
	once  sync.Once
}

func (p *progress) add(s string) {
	p.mu.Lock()
	p.lines = append(p.lines, s)
	p.mu.Unlock()
	p.once.Do(func() { close(p.first) })
}

func (p *progress) all() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// setup starts a stand-in with opts and a fast agent configuration against
// it, and lays out a Go task directory.
func setup(t *testing.T, opts openhandstest.Options) *bundle {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey = sessionKey
	}
	if opts.Scenario.Files == nil && opts.Scenario.FilesFunc == nil {
		opts.Scenario.FilesFunc = fixtureFiles
	}
	srv := openhandstest.NewServer(t, opts)
	fx := agenttest.NewFixture(t, "go")
	b := &bundle{srv: srv, task: fx.Task, log: &bytes.Buffer{}, state: agenttest.NewMemoryState(),
		prog: &progress{first: make(chan struct{})}, slog: &testenv.Buffer{}}
	b.task.ID = "task-" + strings.ReplaceAll(t.Name(), "/", "-")
	b.task.Log, b.task.State, b.task.Progress = b.log, b.state, b.prog.add
	b.cfg = fastConfig(srv.URL)
	b.cfg.Logger = slog.New(slog.NewTextHandler(b.slog, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return b
}

// fastConfig polls and backs off in milliseconds.
func fastConfig(url string) openhands.Config {
	return openhands.Config{
		URL: url, APIKey: sessionKey, LLMAPIKey: llmKey, Model: "test/model-a",
		PollInterval: time.Millisecond, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		MaxRetryAfter: 3 * time.Second, CancelTimeout: 3 * time.Second, MaxIterations: 20,
		Logger: slog.New(slog.DiscardHandler),
	}
}

func (b *bundle) agent(t *testing.T) *openhands.Agent {
	t.Helper()
	a := openhands.New(b.cfg)
	require.NoError(t, a.Check())
	return a
}

// requireNoSecrets fails t if a secret shows in any text handoff keeps.
func (b *bundle) requireNoSecrets(t *testing.T, texts ...string) {
	t.Helper()
	texts = append(texts, b.log.String(), b.prog.all(), b.slog.String())
	for _, s := range texts {
		require.NotContains(t, s, sessionKey)
		require.NotContains(t, s, llmKey)
	}
}

// readFile returns a file of the task directory.
func readFile(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	require.NoError(t, err)
	return string(b)
}
