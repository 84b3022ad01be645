package llm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	c := fromLookup(lookup(map[string]string{"OPENROUTER_API_KEY": "or-key", "LLM_MODEL": "openai/gpt-4o",
		"HANDOFF_MODELS": "a, b,,a", "HANDOFF_BUDGET_USD": "0.5", "LLM_PRICES": "my-model=1/2", "LLM_STREAM": "1"}))
	require.NoError(t, c.validate())
	require.Equal(t, OpenRouterURL, c.BaseURL)
	require.Equal(t, "or-key", c.APIKey)
	require.Equal(t, []string{"openai/gpt-4o", "a", "b"}, c.models(""))
	require.Equal(t, []string{"x", "a", "b"}, c.models("x"), "the task's model replaces LLM_MODEL")
	require.Equal(t, 0.5, c.BudgetUSD)
	require.True(t, c.Stream)
	p, ok := c.priceOf("my-model")
	require.True(t, ok)
	require.Equal(t, Price{1, 2}, p)

	c = fromLookup(lookup(map[string]string{"LLM_API_KEY": "k", "OPENROUTER_API_KEY": "or", "LLM_BASE_URL": "http://localhost:11434/v1/"}))
	require.Equal(t, "k", c.APIKey)
	require.Equal(t, "http://localhost:11434/v1", c.withDefaults().BaseURL)
	require.Equal(t, FormatFenced, c.withDefaults().Format, "auto means fenced off api.openai.com")
	require.Equal(t, FormatJSON, Config{}.withDefaults().Format, "auto means structured output on api.openai.com")

	for k, v := range map[string]string{"HANDOFF_BUDGET_USD": "-1", "LLM_PRICES": "gpt=1", "LLM_MAX_TOKENS": "0",
		"LLM_TIMEOUT": "soon", "LLM_FORMAT": "xml", "LLM_BASE_URL": "localhost:11434"} {
		err := fromLookup(lookup(map[string]string{k: v})).validate()
		require.ErrorContains(t, err, k, "%s=%s", k, v)
	}
}

func TestPriceOf(t *testing.T) {
	t.Parallel()
	c := Config{}
	for model, want := range map[string]Price{
		"gpt-4o": {2.5, 10}, "openai/gpt-4o-mini": {0.15, 0.6}, "gpt-4o-mini-2024-07-18": {0.15, 0.6},
		"anthropic/claude-sonnet-4": {3, 15},
	} {
		p, ok := c.priceOf(model)
		require.True(t, ok, model)
		require.Equal(t, want, p, model)
	}
	_, ok := c.priceOf("qwen2.5-coder:7b")
	require.False(t, ok)
}

func TestFences(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"a\n"}, fences("x\n```go\na\n```\ny"))
	require.Equal(t, []string{"a\n", "b\n"}, fences("```go\na\n```\n```python\nb\n```\n"))
	require.Empty(t, fences("no code"))
}

func TestKeptSourcePython(t *testing.T) {
	t.Parallel()
	src := "import x\n\n\ndef test_a():\n    assert 1\n\n    assert 2\n\n\nclass TestK:\n    def test_m(self):\n        assert 3\n\n\ndef test_b():\n    pass\n"
	require.Equal(t, "def test_a():\n    assert 1\n\n    assert 2\n\n\n", keptSource("python", src, "tests/test_x.py::test_a"))
	require.Contains(t, keptSource("python", src, "tests/test_x.py::TestK::test_m"), "assert 3")
	require.Empty(t, keptChanged("python", src, src, []string{"t.py::test_a", "t.py::TestK::test_m"}))
	require.Equal(t, []string{"t.py::test_a"}, keptChanged("python", src, "def test_a():\n    assert 9\n", []string{"t.py::test_a"}))
}
