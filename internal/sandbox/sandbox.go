// Package sandbox runs untrusted commands: generated tests and command-line
// agents. Every command runs with a timeout, in its own PID namespace where
// the machine allows it, and its whole process tree is killed when the run
// ends: on exit, timeout or cancellation, and when the caller dies. The environment is built
// from an allow-list, so secrets never reach the command. Where bubblewrap
// (bwrap) is available and the caller asks for isolation, the command sees a
// minimal file system (view.go: /usr, a curated /etc, the paths it is given,
// empty tmpfs over $HOME, /tmp, /root, /var), writes only to its directory
// and the listed writable paths, and has no network. Limits (limits.go) cap
// the bytes a run may write, its processes and its memory.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Containment names how a command was contained, for results. With each,
// the command's whole process tree ends with the run (see tree_linux.go for
// how, and for what escapes the process-group fallback).
const (
	ContainmentBwrap        = "bwrap"         // bubblewrap: read-only root, no network, own PID namespace
	ContainmentPIDNamespace = "pid-namespace" // own PID namespace, dies with its parent; file system and network shared
	ContainmentProcessGroup = "process-group" // fallback: timeout, process group, marked descendants and scrubbed environment
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
	// ReadOnly lists what an isolated command may read besides the base
	// view: the toolchain, its caches, the interpreter's libraries.
	ReadOnly []string
	// Limits bound the run's resources, isolated or not.
	Limits Limits
}

// Result says how a command ended.
type Result struct {
	ExitCode    int           // -1 when killed by a signal
	Duration    time.Duration //
	TimedOut    bool          // killed because Timeout passed
	Cancelled   bool          // killed because ctx was done
	Containment string        // ContainmentBwrap, ContainmentPIDNamespace or ContainmentProcessGroup
	// LimitHit names the limits the run was seen to reach (LimitProcesses,
	// LimitMemory) by its cgroups' counters. A write past LimitWrite or an
	// allocation past RLIMIT_AS shows as the error the command got.
	LimitHit []string
	// Gaps says what this run's containment lacks, in words for results:
	// all of bubblewrap's protection when it could not be used, limits
	// asked for that the machine cannot enforce.
	Gaps []string
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
	isolated := c.Isolate && BwrapAvailable()
	if err := lookProgram(c); err != nil { // wrapped, a missing program would be the wrapper's exit status
		return Result{Containment: ContainmentProcessGroup}, err
	}
	lim := newLimiter(c.Limits, isolated) // limits.go
	defer lim.close()
	args := lim.inner(c.Args)
	if isolated {
		args = bwrapArgs(c, args)
	}
	args = lim.outer(args)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = ScrubbedEnv(c.Env...)
	cmd.Stdin = c.Stdin
	cmd.Stdout = orDiscard(c.Stdout)
	cmd.Stderr = orDiscard(c.Stderr)
	// Pipes to the caller's writers stay open while grandchildren hold them;
	// after the tree is killed, give copying a moment and then stop waiting.
	cmd.WaitDelay = 2 * time.Second
	tree, containment := contain(cmd, isolated)
	res := Result{Containment: containment}
	if c.Isolate && !isolated {
		res.Gaps = append(res.Gaps, unisolatedGaps(containment)...)
	}

	start := time.Now()
	wait, err := tree.run()
	if err != nil {
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
			tree.kill()
		case <-timer:
			res.TimedOut = true
			tree.kill()
		}
	}()
	err = wait()
	close(done)
	<-watcherDone
	// Whatever the command did, no process it left behind outlives the run.
	tree.kill()
	lim.finish(&res) // limits.go
	res.Duration = time.Since(start)
	res.ExitCode = cmd.ProcessState.ExitCode()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
		return res, fmt.Errorf("waiting for %s: %w", args[0], err)
	}
	return res, nil
}

// bwrapArgs runs argv under bubblewrap in the view viewArgs builds.
func bwrapArgs(c Cmd, argv []string) []string {
	return append(append(viewArgs(c), "--"), argv...)
}

// unisolatedGaps is what an isolated run lacks without bubblewrap, given the
// containment it had instead.
func unisolatedGaps(containment string) []string {
	procs := "processes: no PID namespace; only its process group is killed"
	if containment == ContainmentPIDNamespace {
		procs = "processes: its own PID namespace, but the host's /proc"
	}
	return []string{
		"file system: the command reads whatever the user can ($HOME with its keys, /etc) and writes wherever the user can",
		"network: not cut off",
		procs,
	}
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
