package sandbox_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/sandbox"
	"github.com/handoff-dev/handoff/internal/testenv"
)

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
