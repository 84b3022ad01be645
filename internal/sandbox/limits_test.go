package sandbox_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/sandbox"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// A file written past the write limit stops at the limit, isolated or not.
func TestWriteLimit(t *testing.T) {
	t.Parallel()
	testenv.LookPath(t, "prlimit", "apt-get install util-linux")
	for _, isolate := range []bool{false, true} {
		dir := t.TempDir()
		var out bytes.Buffer
		res, err := sandbox.Run(context.Background(), sandbox.Cmd{
			Args: []string{"sh", "-c", "head -c 8388608 /dev/zero > big; echo exit=$?; head -c 8388608 /dev/zero > /tmp/big || echo tmp-full"},
			Dir:  dir, Isolate: isolate, Stdout: &out, Stderr: &out,
			Limits: sandbox.Limits{WriteBytes: 1 << 20},
		})
		require.NoError(t, err)
		fi, err := os.Stat(filepath.Join(dir, "big"))
		require.NoError(t, err)
		require.Equal(t, int64(1<<20), fi.Size(), "isolate=%v: %s", isolate, out.String())
		require.NotContains(t, out.String(), "exit=0")
		if isolate && res.Containment == sandbox.ContainmentBwrap {
			require.Contains(t, out.String(), "tmp-full")
		}
	}
}

// An allocation past the memory limit fails at once.
func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	testenv.LookPath(t, "prlimit", "apt-get install util-linux")
	var out bytes.Buffer
	start := time.Now()
	res, err := sandbox.Run(context.Background(), sandbox.Cmd{
		Args: []string{"/usr/bin/python3", "-c", "b = bytearray(20 << 30)"}, Dir: t.TempDir(), Isolate: true,
		Stdout: &out, Stderr: &out, Limits: sandbox.Limits{MemoryBytes: 1 << 30},
	})
	require.NoError(t, err)
	require.NotEqual(t, 0, res.ExitCode)
	require.Contains(t, out.String(), "MemoryError")
	require.Less(t, time.Since(start), time.Minute)
}

// A fork bomb stops at the process limit, the run says so, and nothing of
// it outlives the run.
func TestProcessLimit(t *testing.T) {
	t.Parallel()
	for _, isolate := range []bool{false, true} {
		dir := t.TempDir()
		var out bytes.Buffer
		res, err := sandbox.Run(context.Background(), sandbox.Cmd{
			Args: []string{"sh", "-c", `i=0; while [ $i -lt 10000 ]; do sleep 3609 & i=$((i+1)); done; echo started=$i`},
			Dir:  dir, Isolate: isolate, Stdout: &out, Stderr: &out, Timeout: 2 * time.Minute,
			Limits: sandbox.Limits{Processes: 64},
		})
		require.NoError(t, err)
		if len(res.Gaps) > 0 {
			testenv.Missing(t, "a writable pids cgroup", "run as root or in a delegated cgroup v2 tree: "+res.Gaps[0])
		}
		require.Equal(t, []string{sandbox.LimitProcesses}, res.LimitHit, "isolate=%v: %s", isolate, out.String())
		require.False(t, res.TimedOut)
		requireNoSleep(t, "3609")
	}
}

// requireNoSleep waits, with a deadline, until no "sleep <arg>" process is left.
func requireNoSleep(t *testing.T, arg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := 0
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && bytes.Equal(b, []byte("sleep\x00"+arg+"\x00")) {
				left++
			}
		}
		if left == 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "%d sleep processes outlived the run", left)
		time.Sleep(20 * time.Millisecond) // polling the process table, with a deadline
	}
}

// Processes each within the per-process limit but together past the
// memory limit of the run are killed, and the run says so.
func TestMemoryLimitOfTheWholeRun(t *testing.T) {
	t.Parallel()
	testenv.LookPath(t, "prlimit", "apt-get install util-linux")
	var out bytes.Buffer
	script := `for i in 1 2 3 4; do /usr/bin/python3 -c 'import time; b = b"x" * (120 << 20); time.sleep(3)' & done; wait`
	res, err := sandbox.Run(context.Background(), sandbox.Cmd{
		Args: []string{"sh", "-c", script}, Dir: t.TempDir(), Isolate: true, Stdout: &out, Stderr: &out,
		Timeout: time.Minute, Limits: sandbox.Limits{MemoryBytes: 300 << 20},
	})
	require.NoError(t, err)
	if len(res.Gaps) > 0 {
		testenv.Missing(t, "a writable memory cgroup", res.Gaps[0])
	}
	require.Equal(t, []string{sandbox.LimitMemory}, res.LimitHit, out.String())
}
