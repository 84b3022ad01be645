package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// gitCmd is one git invocation in a workspace.
type gitCmd struct {
	dir   string    // working directory: the workspace root
	env   []string  // added to the cleaned environment ("K=V")
	stdin io.Reader // nil means empty input
	args  []string  // after "git"
}

// gitConfig are -c settings for every call: no automatic gc or maintenance
// while handoff works, no advice on stderr, no failure on CRLF round trips.
var gitConfig = []string{
	"-c", "gc.auto=0",
	"-c", "maintenance.auto=false",
	"-c", "advice.addEmbeddedRepo=false",
	"-c", "core.safecrlf=false",
}

// run executes git and returns its standard output. The environment is the
// caller's without any GIT_* variable, so a GIT_DIR or GIT_INDEX_FILE set by
// whoever runs handoff can never redirect a call to another repository or to
// the user's index; only what c.env sets applies.
func (c gitCmd) run(ctx context.Context) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	if err := c.stream(ctx, &stdout, &stderr); err != nil {
		return nil, err
	}
	return stdout.Bytes(), nil
}

// stream executes git writing its standard output to w.
func (c gitCmd) stream(ctx context.Context, w io.Writer, stderr *bytes.Buffer) error {
	if stderr == nil {
		stderr = new(bytes.Buffer)
	}
	args := append(append([]string{}, gitConfig...), c.args...)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = c.dir
	cmd.Env = append(gitEnv(os.Environ()), c.env...)
	cmd.Stdin = c.stdin
	cmd.Stdout = w
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("git is needed to snapshot the git workspace %s but was not found in PATH; install git: %w", c.dir, err)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("git %s in %s: %w", c.args[0], c.dir, ctxErr)
		}
		return &gitError{dir: c.dir, args: c.args, stderr: strings.TrimSpace(stderr.String()), err: err}
	}
	return nil
}

// gitEnv is the environment src without GIT_* variables, plus the settings
// every call needs.
func gitEnv(src []string) []string {
	env := make([]string, 0, len(src)+1)
	for _, kv := range src {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	return append(env, "GIT_TERMINAL_PROMPT=0")
}

// gitError is a git call that exited with an error; stderr is kept so
// callers can recognise a known failure.
type gitError struct {
	dir    string
	args   []string
	stderr string
	err    error
}

func (e *gitError) Error() string {
	msg := e.stderr
	if len(msg) > 2000 {
		msg = msg[:2000] + "…"
	}
	return fmt.Sprintf("git %s in %s failed: %v: %s", strings.Join(e.args, " "), e.dir, e.err, msg)
}

func (e *gitError) Unwrap() error { return e.err }
