package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"

	"github.com/handoff-dev/handoff/internal/sandbox"
)

// commandResult says how a stage's command ended.
type commandResult struct {
	ExitCode  int // -1 when killed by a signal
	TimedOut  bool
	Cancelled bool
}

// runCommand runs script with /bin/sh -e -c in dir, in its own process
// group. The user's commands get the environment they were given in full:
// they are the user's own, unlike agents and generated tests, which run in
// internal/sandbox with a scrubbed environment. On timeout or when ctx is
// done the whole group gets SIGTERM, then SIGKILL after grace; when the
// shell exits, whatever it left behind in its group is killed too, so no
// stage outlives its run.
func runCommand(ctx context.Context, script, dir string, env []string, timeout, grace time.Duration, out io.Writer) (commandResult, error) {
	cmd := exec.Command("/bin/sh", "-e", "-c", script)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = out
	cmd.Stderr = out
	if err := sandbox.OwnGroup(cmd); err != nil {
		return commandResult{ExitCode: -1}, err
	}
	// A writer that is not an *os.File is fed by a copying goroutine that a
	// grandchild could keep open; stop waiting for it soon after the kill.
	cmd.WaitDelay = grace + time.Second
	if err := cmd.Start(); err != nil {
		return commandResult{ExitCode: -1}, fmt.Errorf("starting /bin/sh in %s: %w", dir, err)
	}
	pgid := cmd.Process.Pid

	var res commandResult
	exited := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		var timer <-chan time.Time
		if timeout > 0 {
			t := time.NewTimer(timeout)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-exited:
			return
		case <-ctx.Done():
			res.Cancelled = true
		case <-timer:
			res.TimedOut = true
		}
		sandbox.SignalGroup(pgid, syscall.SIGTERM)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-exited:
		case <-t.C:
			sandbox.SignalGroup(pgid, syscall.SIGKILL)
		}
	}()
	err := cmd.Wait()
	close(exited)
	<-watched
	sandbox.SignalGroup(pgid, syscall.SIGKILL)
	res.ExitCode = cmd.ProcessState.ExitCode()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
		return res, fmt.Errorf("waiting for the stage's shell: %w", err)
	}
	return res, nil
}
