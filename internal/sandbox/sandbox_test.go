package sandbox_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/sandbox"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// gone waits, with a deadline, for a process to disappear.
func gone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		require.True(t, time.Now().Before(deadline), "process %d survived", pid)
		time.Sleep(10 * time.Millisecond)
	}
}

func childPID(t *testing.T, p string) int {
	t.Helper()
	var pid int
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	_, err = fmt.Sscan(string(b), &pid)
	require.NoError(t, err)
	return pid
}

func TestTimeoutKillsTheWholeGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	res, err := sandbox.Run(context.Background(), sandbox.Cmd{
		Args: []string{"sh", "-c", "sleep 300 & echo $! > child; wait"}, Dir: dir, Timeout: 300 * time.Millisecond,
	})
	require.NoError(t, err)
	require.True(t, res.TimedOut)
	require.Equal(t, -1, res.ExitCode)
	gone(t, childPID(t, filepath.Join(dir, "child")))
}

func TestCancelKillsTheWholeGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan sandbox.Result, 1)
	go func() {
		res, _ := sandbox.Run(ctx, sandbox.Cmd{Args: []string{"sh", "-c", "sleep 300 & echo $! > child; wait"}, Dir: dir})
		done <- res
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "child")); err == nil && len(bytes.TrimSpace(b)) > 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the command never started")
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	res := <-done
	require.True(t, res.Cancelled)
	gone(t, childPID(t, filepath.Join(dir, "child")))
}

func TestEnvironmentIsScrubbed(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-secret")
	t.Setenv("GOFLAGS", "-mod=mod")
	var out bytes.Buffer
	_, err := sandbox.Run(context.Background(), sandbox.Cmd{Args: []string{"env"}, Dir: t.TempDir(), Stdout: &out,
		Env: []string{"HANDOFF_TASK_ID=t1"}})
	require.NoError(t, err)
	require.NotContains(t, out.String(), "sk-secret")
	require.Contains(t, out.String(), "GOFLAGS=-mod=mod")
	require.Contains(t, out.String(), "HANDOFF_TASK_ID=t1")
	require.Contains(t, out.String(), "PATH=")
}

func TestExitCodeAndMissingProgram(t *testing.T) {
	t.Parallel()
	res, err := sandbox.Run(context.Background(), sandbox.Cmd{Args: []string{"sh", "-c", "exit 7"}, Dir: t.TempDir()})
	require.NoError(t, err)
	require.Equal(t, 7, res.ExitCode)
	_, err = sandbox.Run(context.Background(), sandbox.Cmd{Args: []string{"no-such-program-handoff"}, Dir: t.TempDir()})
	require.ErrorIs(t, err, sandbox.ErrNotStarted)
}

func TestBwrapIsolation(t *testing.T) {
	t.Parallel()
	testenv.LookPath(t, "bwrap", "apt-get install bubblewrap")
	if !sandbox.BwrapAvailable() {
		testenv.Missing(t, "a working bubblewrap", "bwrap is installed but cannot create a sandbox here (user namespaces off?)")
	}
	dir := t.TempDir()
	outside := t.TempDir()
	var out bytes.Buffer
	script := `echo ok > inside.txt
echo no > ` + filepath.Join(outside, "x.txt") + ` 2>/dev/null && echo WROTE-OUTSIDE
/usr/bin/python3 -c 'import socket; socket.create_connection(("127.0.0.1", 5432), 1)' 2>/dev/null && echo NETWORK || echo no-network`
	res, err := sandbox.Run(context.Background(), sandbox.Cmd{Args: []string{"sh", "-c", script}, Dir: dir,
		Isolate: true, Stdout: &out, Stderr: &out})
	require.NoError(t, err)
	require.Equal(t, sandbox.ContainmentBwrap, res.Containment)
	require.FileExists(t, filepath.Join(dir, "inside.txt"))
	require.NoFileExists(t, filepath.Join(outside, "x.txt"))
	require.NotContains(t, out.String(), "WROTE-OUTSIDE")
	require.Contains(t, out.String(), "no-network")
	require.False(t, strings.Contains(out.String(), "NETWORK\n"))
}

func TestDescribeQuotes(t *testing.T) {
	t.Parallel()
	require.Equal(t, `go test '-run=^(A B)$' ''`, sandbox.Describe([]string{"go", "test", "-run=^(A B)$", ""}))
}
