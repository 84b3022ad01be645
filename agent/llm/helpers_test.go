package llm_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/agent/llm"
	"github.com/handoff-dev/handoff/agent/llm/llmtest"
)

// testKey is the API key the stand-ins require; tests check it never leaks.
const testKey = "sk-test-0123456789abcdef-secret"

const pythonTests = "from calc import add, absolute\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_absolute():\n    assert absolute(-2) == 2\n    assert absolute(2) == 2\n"

// fenced wraps a file in a fenced block the way chat models answer.
func fenced(lang, file string) string {
	return "Here are the tests.\n\n```" + lang + "\n" + file + "```\n"
}

// fixtureAnswer answers any request with good tests for the agenttest
// fixture of the language the system prompt names.
func fixtureAnswer(r llmtest.Request) llmtest.Reply {
	if strings.Contains(r.Prompt(), "python code") {
		return llmtest.Reply{Content: fenced("python", pythonTests)}
	}
	return llmtest.Reply{Content: fenced("go", agenttest.GoModuleTests)}
}

type bundle struct {
	srv *llmtest.Server
	cfg llm.Config
}

// setup starts a stand-in requiring testKey and a config pointing at it with
// fast retries.
func setup(t *testing.T, replies ...llmtest.Reply) *bundle {
	t.Helper()
	srv := llmtest.New(t, replies...)
	srv.Key = testKey
	return &bundle{srv: srv, cfg: llm.Config{BaseURL: srv.URL, APIKey: testKey, Model: "gpt-4o-mini",
		MaxRetries: 2, MaxRetryDelay: 50e6, Format: llm.FormatFenced}}
}

func logOf(task *agent.Task) string { return task.Log.(*bytes.Buffer).String() }
