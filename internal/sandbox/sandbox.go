// Package sandbox runs untrusted commands: generated tests and command-line
// agents. Every command runs in its own process group with a timeout, and the
// whole group is killed on timeout or cancellation. The environment is built
// from an allow-list, so secrets never reach the command. Where bubblewrap
// (bwrap) is available and the caller asks for isolation, the command sees the
// file system read-only except for its directory and the listed writable
// paths, and has no network.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Containment names how a command was contained, for results.
const (
	ContainmentBwrap        = "bwrap"         // bubblewrap: read-only root, no network, own PID namespace
	ContainmentProcessGroup = "process-group" // timeout, process group and scrubbed environment only
)

// Cmd is one command to run.
type Cmd struct {
	Args    []string      // argv; Args[0] is looked up in PATH
	Dir     string        // working directory; always writable
	Env     []string      // added to the scrubbed environment ("K=V"); later entries win
	Stdin   io.Reader     // nil means empty input
	Stdout  io.Writer     // nil discards
	Stderr  io.Writer     // nil discards
	Timeout time.Duration // zero means no timeout beyond ctx

	// Isolate runs the command under bubblewrap when it is available:
	// read-only file system, Dir and Writable writable, a private /tmp,
	// and no network unless Network is set.
	Isolate  bool
	Network  bool
	Writable []string
}

// Result says how a command ended.
type Result struct {
	ExitCode    int           // -1 when killed by a signal
	Duration    time.Duration //
	TimedOut    bool          // killed because Timeout passed
	Cancelled   bool          // killed because ctx was done
	Containment string        // ContainmentBwrap or ContainmentProcessGroup
}

// ErrNotStarted wraps failures to start a command (missing binary, bad dir).
var ErrNotStarted = errors.New("command could not start")

// allowedEnv are the variables passed through from handoff's own
// environment. Nothing else is: API keys and tokens stay out.
var allowedEnv = []string{
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "TMPDIR",
	"GOPATH", "GOCACHE", "GOMODCACHE", "GOFLAGS", "GOPROXY", "GONOSUMDB", "GONOSUMCHECK", "GOPRIVATE",
	"GONOPROXY", "GOSUMDB", "GOTOOLCHAIN", "GOROOT", "GOARCH", "GOOS", "CGO_ENABLED", "CC", "CXX",
	"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYENV_ROOT", "PYENV_VERSION", "CONDA_PREFIX",
}

// ScrubbedEnv returns the allow-listed part of the current environment with
// extra appended ("K=V"; later entries win when a program reads the last).
func ScrubbedEnv(extra ...string) []string {
	env := make([]string, 0, len(allowedEnv)+len(extra))
	for _, k := range allowedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, extra...)
}

var (
	bwrapOnce sync.Once
	bwrapPath string
)

// BwrapAvailable reports whether bubblewrap is installed and can create a
// sandbox on this machine (it can be installed but refused by the kernel).
func BwrapAvailable() bool {
	bwrapOnce.Do(func() {
		if os.Getenv("HANDOFF_NO_BWRAP") == "1" {
			return
		}
		p, err := exec.LookPath("bwrap")
		if err != nil {
			return
		}
		probe := exec.Command(p, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
			"--unshare-net", "--unshare-pid", "--die-with-parent", "--", "true")
		if probe.Run() == nil {
			bwrapPath = p
		}
	})
	return bwrapPath != ""
}

// Run runs c and waits for it. A non-zero exit is not an error: it is in the
// Result. The error is for commands that could not start or be waited on.
func Run(ctx context.Context, c Cmd) (Result, error) {
	if len(c.Args) == 0 {
		return Result{}, fmt.Errorf("%w: empty command", ErrNotStarted)
	}
	args := c.Args
	res := Result{Containment: ContainmentProcessGroup}
	if c.Isolate && BwrapAvailable() {
		args = bwrapArgs(c)
		res.Containment = ContainmentBwrap
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = ScrubbedEnv(c.Env...)
	cmd.Stdin = c.Stdin
	cmd.Stdout = orDiscard(c.Stdout)
	cmd.Stderr = orDiscard(c.Stderr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Pipes to the caller's writers stay open while grandchildren hold them;
	// after the group is killed, give copying a moment and then stop waiting.
	cmd.WaitDelay = 2 * time.Second

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("%w: %s: %v", ErrNotStarted, args[0], err)
	}
	done := make(chan struct{})
	var timer <-chan time.Time
	if c.Timeout > 0 {
		t := time.NewTimer(c.Timeout)
		defer t.Stop()
		timer = t.C
	}
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		select {
		case <-done:
		case <-ctx.Done():
			res.Cancelled = true
			killGroup(cmd.Process.Pid)
		case <-timer:
			res.TimedOut = true
			killGroup(cmd.Process.Pid)
		}
	}()
	err := cmd.Wait()
	close(done)
	<-watcherDone
	// Whatever the leader did, no child it left behind outlives the run.
	killGroup(cmd.Process.Pid)
	res.Duration = time.Since(start)
	res.ExitCode = cmd.ProcessState.ExitCode()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
		return res, fmt.Errorf("waiting for %s: %w", args[0], err)
	}
	return res, nil
}

func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

func bwrapArgs(c Cmd) []string {
	a := []string{bwrapPath,
		"--ro-bind", "/", "/",
		"--dev", "/dev",
		"--proc", "/proc",
		"--tmpfs", "/tmp",
		"--unshare-pid", "--die-with-parent",
	}
	if !c.Network {
		a = append(a, "--unshare-net")
	}
	seen := map[string]bool{}
	for _, w := range append([]string{c.Dir}, c.Writable...) {
		if w == "" {
			continue
		}
		abs, err := filepath.Abs(w)
		if err != nil || seen[abs] {
			continue
		}
		seen[abs] = true
		if err := os.MkdirAll(abs, 0o755); err != nil {
			continue
		}
		a = append(a, "--bind", abs, abs)
	}
	if c.Dir != "" {
		a = append(a, "--chdir", c.Dir)
	}
	a = append(a, "--")
	return append(a, c.Args...)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// Describe renders argv for logs and results, quoting where needed. Callers
// must not put secrets in argv in the first place.
func Describe(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`") {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}
