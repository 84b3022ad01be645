package verify

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/sandbox"
)

// Limits come from Options, else the environment, else the defaults; a
// negative one, or 0 in the environment, is no limit. Not parallel: it
// sets the environment.
func TestNormalizeLimits(t *testing.T) {
	l, err := normalizeLimits(sandbox.Limits{})
	require.NoError(t, err)
	require.Equal(t, DefaultLimits, l)

	t.Setenv("HANDOFF_LIMIT_WRITE", "64M")
	t.Setenv("HANDOFF_LIMIT_PROCESSES", "0")
	t.Setenv("HANDOFF_LIMIT_MEMORY", "2G")
	l, err = normalizeLimits(sandbox.Limits{MemoryBytes: -1})
	require.NoError(t, err)
	require.Equal(t, sandbox.Limits{WriteBytes: 64 << 20}, l)

	t.Setenv("HANDOFF_LIMIT_WRITE", "lots")
	_, err = normalizeLimits(sandbox.Limits{})
	require.ErrorContains(t, err, `HANDOFF_LIMIT_WRITE="lots"`)
	require.ErrorContains(t, err, "512M")
}

// A failure is the limit's when its output shows the limit's error and the
// limit is in force.
func TestLimitReached(t *testing.T) {
	t.Parallel()
	a := &acceptance{s: &session{o: Options{Limits: sandbox.Limits{WriteBytes: 1 << 20, Processes: 10, MemoryBytes: 1 << 30}}}}
	for out, want := range map[string]string{
		"write /tmp/x/big: file too large":                             sandbox.LimitWrite,
		"OSError: [Errno 28] No space left on device":                  sandbox.LimitWrite,
		"fork/exec /usr/bin/sleep: resource temporarily unavailable":   sandbox.LimitProcesses,
		"BlockingIOError: [Errno 11] Resource temporarily unavailable": sandbox.LimitProcesses,
		"fatal error: out of memory":                                   sandbox.LimitMemory,
		"E   MemoryError":                                              sandbox.LimitMemory,
		"calc_test.go:12: Add(2, 2) = 5, want 4":                       "",
	} {
		require.Equal(t, want, a.limitReached(out), out)
	}
	a.s.o.Limits.Processes = 0
	require.Equal(t, "", a.limitReached("resource temporarily unavailable"), "no process limit, no process-limit verdict")
	require.Equal(t, "resource limit: write — at most 1 MiB per file and per temporary file system (HANDOFF_LIMIT_WRITE)", a.limitText(sandbox.LimitWrite))
}
