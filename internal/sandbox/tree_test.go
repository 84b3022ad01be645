//go:build linux

package sandbox_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/sandbox"
	"github.com/handoff-dev/handoff/internal/testenv"
)

// escapees is a script that leaves behind, marked with marker in their
// command lines, a child in a session of its own (setsid), a double-forked
// one (reparented away from the command) and a double-forked one in a
// session of its own, waits until all three run, then writes ready. Only
// the second stays in the command's process group.
func escapees(marker string) string {
	return fmt.Sprintf(`setsid sh -c 'echo > up-setsid; sleep 300; :' %[1]s-setsid </dev/null >/dev/null 2>&1 &
(sh -c 'echo > up-double; sleep 300; :' %[1]s-double </dev/null >/dev/null 2>&1 &)
(setsid sh -c 'echo > up-both; sleep 300; :' %[1]s-both </dev/null >/dev/null 2>&1 &)
until [ -e up-setsid ] && [ -e up-double ] && [ -e up-both ]; do sleep 0.01; done
echo ready > ready
`, marker)
}

// waitFile waits until path holds a line.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && bytes.HasSuffix(b, []byte("\n")) {
			return
		}
		require.True(t, time.Now().Before(deadline), "%s was never written", path)
		time.Sleep(10 * time.Millisecond) // polling for a file, with a deadline
	}
}

func uniqueMarker(t *testing.T) string {
	return fmt.Sprintf("handoff-tree-%d-%s", os.Getpid(), strings.NewReplacer("/", "-", "=", "-").Replace(t.Name()))
}

// Whatever ends a run (the command's exit, its timeout, cancellation), no
// process it started outlives it, in whichever containment it ran: setsid
// and double-forked children included.
func TestRunEndsTheWholeTree(t *testing.T) {
	t.Parallel()
	type end struct {
		name   string
		script string // after escapees
		run    func(t *testing.T, c sandbox.Cmd) sandbox.Result
	}
	ends := []end{
		{"exit", "exit 0", func(t *testing.T, c sandbox.Cmd) sandbox.Result {
			res, err := sandbox.Run(context.Background(), c)
			require.NoError(t, err)
			require.Equal(t, 0, res.ExitCode)
			return res
		}},
		{"timeout", "sleep 300", func(t *testing.T, c sandbox.Cmd) sandbox.Result {
			c.Timeout = 500 * time.Millisecond
			res, err := sandbox.Run(context.Background(), c)
			require.NoError(t, err)
			require.True(t, res.TimedOut)
			require.Equal(t, -1, res.ExitCode)
			return res
		}},
		{"cancel", "sleep 300", func(t *testing.T, c sandbox.Cmd) sandbox.Result {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan sandbox.Result, 1)
			go func() {
				res, _ := sandbox.Run(ctx, c)
				done <- res
			}()
			waitFile(t, filepath.Join(c.Dir, "ready"))
			cancel()
			res := <-done
			require.True(t, res.Cancelled)
			return res
		}},
	}
	for _, isolate := range []bool{false, true} {
		for _, e := range ends {
			t.Run(fmt.Sprintf("%s/isolate=%v", e.name, isolate), func(t *testing.T) {
				t.Parallel()
				if isolate && !sandbox.BwrapAvailable() {
					testenv.Missing(t, "a working bubblewrap", "apt-get install bubblewrap")
				}
				if !isolate {
					testenv.PIDNamespaces(t)
				}
				marker := uniqueMarker(t)
				dir := t.TempDir()
				res := e.run(t, sandbox.Cmd{Args: []string{"sh", "-c", escapees(marker) + e.script}, Dir: dir, Isolate: isolate})
				if isolate {
					require.Equal(t, sandbox.ContainmentBwrap, res.Containment)
				} else {
					require.Equal(t, sandbox.ContainmentPIDNamespace, res.Containment)
				}
				// Both containments end the tree before Run returns; the
				// deadline only absorbs /proc catching up on a loaded machine.
				testenv.NoProcesses(t, marker, 5*time.Second)
			})
		}
	}
}

// The command still sees what an agent needs: a working /proc, the network
// and its own files, and runs as the caller's user.
func TestPIDNamespaceKeepsTheCallersWorld(t *testing.T) {
	t.Parallel()
	testenv.PIDNamespaces(t)
	dir := t.TempDir()
	var out bytes.Buffer
	script := `echo "uid $(id -u)"
echo "self $(readlink /proc/self)"
/usr/bin/python3 -c 'import socket; socket.create_connection(("127.0.0.1", 5432), 1); print("network")' 2>&1 || echo no-network
echo written > out.txt`
	res, err := sandbox.Run(context.Background(), sandbox.Cmd{Args: []string{"sh", "-c", script}, Dir: dir, Stdout: &out, Stderr: &out})
	require.NoError(t, err)
	require.Equal(t, sandbox.ContainmentPIDNamespace, res.Containment)
	require.Equal(t, 0, res.ExitCode, out.String())
	require.Contains(t, out.String(), fmt.Sprintf("uid %d\n", os.Getuid()))
	require.Regexp(t, `self [0-9]+\n`, out.String(), "/proc/self resolves")
	require.FileExists(t, filepath.Join(dir, "out.txt"))
	if _, err := os.Stat("/usr/bin/python3"); err == nil && os.Getenv("HANDOFF_TEST_POSTGRES_URL") != "" {
		require.Contains(t, out.String(), "network\n", "a PID namespace does not cut the network")
	}
}

// helperEnv makes the test binary run helperRun instead of its tests.
const helperEnv = "HANDOFF_SANDBOX_TEST_HELPER"

// TestHelperProcess is not a test: started by startHelper, it runs one
// sandboxed command from its environment, as a worker runs an agent, and
// exits when the command does.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("started by other tests only")
	}
	res, err := sandbox.Run(context.Background(), sandbox.Cmd{
		Args:    []string{"sh", "-c", os.Getenv("HELPER_SCRIPT")},
		Dir:     os.Getenv("HELPER_DIR"),
		Isolate: os.Getenv("HELPER_ISOLATE") == "1",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Println(res.Containment)
	os.Exit(0)
}

// startHelper starts a process that runs script in the sandbox, as a
// worker runs an agent.
func startHelper(t *testing.T, dir, script string, isolate bool, extraEnv ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "HELPER_SCRIPT="+script, "HELPER_DIR="+dir)
	if isolate {
		cmd.Env = append(cmd.Env, "HELPER_ISOLATE=1")
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, &out
}

// A worker killed with SIGKILL takes its agent's whole tree with it: the
// kernel kills the namespace's init when its parent dies, and with it every
// process in the namespace.
func TestCallerKilledEndsTheWholeTree(t *testing.T) {
	t.Parallel()
	for _, isolate := range []bool{false, true} {
		t.Run(fmt.Sprintf("isolate=%v", isolate), func(t *testing.T) {
			t.Parallel()
			if isolate && !sandbox.BwrapAvailable() {
				testenv.Missing(t, "a working bubblewrap", "apt-get install bubblewrap")
			}
			if !isolate {
				testenv.PIDNamespaces(t)
			}
			marker := uniqueMarker(t)
			dir := t.TempDir()
			helper, out := startHelper(t, dir, escapees(marker)+"sh -c 'sleep 300; :' "+marker+"-main", isolate)
			waitFile(t, filepath.Join(dir, "ready"))
			require.NotEmpty(t, testenv.Processes(marker), "the tree runs")
			require.NoError(t, helper.Process.Signal(syscall.SIGKILL))
			_ = helper.Wait()
			// PR_SET_PDEATHSIG acts when the parent exits; the deadline is
			// for the kernel and /proc on a loaded machine, not a grace.
			testenv.NoProcesses(t, marker, 5*time.Second)
			require.NotContains(t, out.String(), "FAIL")
		})
	}
}

// Where PID namespaces cannot be made, the fallback still kills, at the end
// of the run, every process that carries the run's marker in its
// environment, setsid and double-forked ones included.
func TestProcessGroupFallbackKillsMarkedDescendants(t *testing.T) {
	t.Parallel()
	marker := uniqueMarker(t)
	dir := t.TempDir()
	helper, out := startHelper(t, dir, escapees(marker)+"exit 0", false, "HANDOFF_NO_PIDNS=1")
	require.NoError(t, helper.Wait(), out.String())
	require.Equal(t, sandbox.ContainmentProcessGroup+"\n", out.String())
	testenv.NoProcesses(t, marker, 5*time.Second)
}
