package redact_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/redact"
)

const fakeKey = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBmYWtlLWtleS1mb3ItaGFuZG9mZi10ZXN0cy1vbmx5LTEyMwAAAJj6hY
-----END OPENSSH PRIVATE KEY-----`

// The environment is read at each call, so these tests set it and cannot
// run in parallel.
func TestStringMasksKnownSecretsAndShapes(t *testing.T) {
	t.Setenv("LLM_API_KEY", "sk-llm-0123456789")
	t.Setenv("HANDOFF_EXEC_ENV", "MY_AGENT_KEY, OTHER")
	t.Setenv("MY_AGENT_KEY", "agent-secret-value")
	t.Setenv("HANDOFF_DATABASE_URL", "postgres://app:p%40ss%2Fword@db:5432/handoff")
	t.Setenv("OPENHANDS_API_KEY", "abc") // too short to be masked

	in := "key sk-llm-0123456789 and agent-secret-value, db p@ss/word or p%40ss%2Fword\n" +
		"Authorization: Bearer tok-xyz-123456\n" +
		`{"authorization": "Basic dXNlcjpwYXNzd29yZA=="}` + "\n" +
		"curl -H 'Bearer abcdefghijkl'\n" +
		"before\n" + fakeKey + "\nafter abc\n"
	out := redact.String(in)
	for _, secret := range []string{"sk-llm-0123456789", "agent-secret-value", "p@ss/word", "p%40ss%2Fword",
		"tok-xyz-123456", "dXNlcjpwYXNzd29yZA", "abcdefghijkl", "b3BlbnNzaC1rZXkt", "BEGIN OPENSSH"} {
		require.NotContains(t, out, secret)
	}
	require.Contains(t, out, "Authorization: [redacted]")
	require.Contains(t, out, "before\n[redacted private key]\nafter abc")
}

func TestStringCutKeyBlock(t *testing.T) {
	t.Parallel()
	cut := "excerpt: " + fakeKey[:90] + "…"
	require.Equal(t, "excerpt: [redacted private key]", redact.String(cut))
}

func TestWriterAcrossChunksAndLines(t *testing.T) {
	t.Setenv("OPENROUTER_API_KEY", "or-key-abcdef")
	var out bytes.Buffer
	w := redact.NewWriter(&out)
	text := "start or-key-abcdef\n" + fakeKey + "\nend\npartial or-key-abc"
	// One byte at a time: a secret split across writes is still masked.
	for i := 0; i < len(text); i++ {
		_, err := w.Write([]byte{text[i]})
		require.NoError(t, err)
	}
	require.NotContains(t, out.String(), "partial", "an unfinished line waits")
	_, err := w.Write([]byte("def tail"))
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	require.Equal(t, "start [redacted]\n[redacted private key]\nend\npartial [redacted] tail", out.String())
	require.False(t, strings.Contains(out.String(), "b3BlbnNz"))
}
