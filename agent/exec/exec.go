// Package exec is the agent backend that runs any command-line coding agent
// (an OpenHands CLI in headless mode, another vendor's CLI, a script).
//
// The command line comes from HANDOFF_EXEC_COMMAND and runs with `sh -c` in
// the task directory, an isolated copy of the workspace snapshot. The prompt
// arrives on standard input and in the file named by HANDOFF_PROMPT_FILE;
// HANDOFF_TASK_ID, HANDOFF_MODULE_PATH, HANDOFF_OUTPUT_PATH,
// HANDOFF_COVERAGE_THRESHOLD, HANDOFF_LANGUAGE, HANDOFF_ROUND, HANDOFF_MODEL
// and, in repair rounds, HANDOFF_FEEDBACK_FILE (JSON) describe the task. The
// environment is scrubbed: secrets the command needs (an API key) pass only
// when named in HANDOFF_EXEC_ENV, never on the command line. The command's
// exit status alone never means success: handoff verifies what it wrote.
//
// The command line and the names in HANDOFF_EXEC_ENV travel with a task
// (agent.Configurable); the values of those variables are the worker's.
//
// The command and everything it starts (setsid and double-forked children
// included) end when the run ends: at its exit, the task's deadline, a
// cancel, or the worker's death. It runs as init of its own PID namespace
// where the machine allows (the report's "containment" detail says which
// containment applied); the network and the file system are the worker's.
package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/internal/sandbox"
)

// Config configures the exec agent.
type Config struct {
	// Command is the shell command line of the coding agent.
	Command string
	// PassEnv names variables passed from handoff's environment to the
	// command on top of the scrubbed base (API keys, the agent's settings).
	PassEnv []string
	// Languages the command serves; empty means go and python.
	Languages []string
}

// FromEnv reads HANDOFF_EXEC_COMMAND, HANDOFF_EXEC_ENV (comma-separated
// names) and HANDOFF_EXEC_LANGUAGES (comma-separated).
func FromEnv() Config {
	return Config{
		Command:   os.Getenv("HANDOFF_EXEC_COMMAND"),
		PassEnv:   splitList(os.Getenv("HANDOFF_EXEC_ENV")),
		Languages: splitList(os.Getenv("HANDOFF_EXEC_LANGUAGES")),
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Agent runs a command-line coding agent.
type Agent struct{ cfg Config }

// New returns an exec agent.
func New(cfg Config) *Agent { return &Agent{cfg: cfg} }

// Name implements agent.Agent.
func (a *Agent) Name() string { return "exec" }

// Languages implements agent.Agent.
func (a *Agent) Languages() []string {
	if len(a.cfg.Languages) > 0 {
		return a.cfg.Languages
	}
	return []string{"go", "python"}
}

// Check implements agent.Checker.
func (a *Agent) Check() error {
	if strings.TrimSpace(a.cfg.Command) == "" {
		return errors.New("HANDOFF_EXEC_COMMAND is empty; set it to your coding agent's command line " +
			"(it runs with sh -c in the task directory, the prompt on stdin)")
	}
	return nil
}

// ExitStatusTransient is the exit status (EX_TEMPFAIL) by which a command
// says "try again later"; handoff then retries the task with backoff.
const ExitStatusTransient = 75

// Run implements agent.Agent.
func (a *Agent) Run(ctx context.Context, t *agent.Task) (*agent.Report, error) {
	if err := a.Check(); err != nil {
		return nil, err
	}
	if !slices.Contains(a.Languages(), t.Language) {
		return nil, fmt.Errorf("%w: exec is configured for %s, not %s", agent.ErrUnsupportedLanguage,
			strings.Join(a.Languages(), ", "), t.Language)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The prompt and feedback live outside the task directory, so they are
	// never mistaken for the agent's changes.
	side, err := os.MkdirTemp("", "handoff-exec-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(side)
	promptFile := filepath.Join(side, "prompt.md")
	if err := os.WriteFile(promptFile, []byte(t.Prompt), 0o600); err != nil {
		return nil, err
	}
	env := []string{
		"HANDOFF_TASK_ID=" + t.ID,
		"HANDOFF_MODULE_PATH=" + t.Module,
		"HANDOFF_OUTPUT_PATH=" + t.Output,
		"HANDOFF_COVERAGE_THRESHOLD=" + strconv.FormatFloat(t.Threshold, 'f', -1, 64),
		"HANDOFF_LANGUAGE=" + t.Language,
		"HANDOFF_ROUND=" + strconv.Itoa(t.Round),
		"HANDOFF_MODEL=" + t.Model,
		"HANDOFF_PROMPT_FILE=" + promptFile,
	}
	if t.Feedback != nil {
		fb, _ := json.MarshalIndent(t.Feedback, "", "  ")
		fbFile := filepath.Join(side, "feedback.json")
		if err := os.WriteFile(fbFile, fb, 0o600); err != nil {
			return nil, err
		}
		env = append(env, "HANDOFF_FEEDBACK_FILE="+fbFile)
	}
	for _, name := range a.cfg.PassEnv {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	before, err := signature(t.Dir)
	if err != nil {
		return nil, err
	}
	t.Progress("running the exec agent")
	fmt.Fprintf(t.Log, "[exec] sh -c %s\n", sandbox.Describe([]string{a.cfg.Command}))
	var timeout time.Duration
	if !t.Deadline.IsZero() {
		timeout = time.Until(t.Deadline)
	}
	res, err := sandbox.Run(ctx, sandbox.Cmd{
		Args: []string{"sh", "-c", a.cfg.Command}, Dir: t.Dir, Env: env,
		Stdin: strings.NewReader(t.Prompt), Stdout: t.Log, Stderr: t.Log, Timeout: timeout,
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(t.Log, "[exec] exit status %d after %s (%s)\n", res.ExitCode, res.Duration.Round(time.Millisecond), res.Containment)
	if res.Cancelled {
		return nil, fmt.Errorf("exec agent stopped: %w", context.Cause(ctx))
	}
	if res.TimedOut {
		return nil, fmt.Errorf("exec agent still running at the task deadline: %w", context.DeadlineExceeded)
	}
	report := &agent.Report{Model: t.Model, Summary: fmt.Sprintf("command exited with status %d", res.ExitCode),
		Details: map[string]any{"exit_code": res.ExitCode, "duration_ms": res.Duration.Milliseconds(), "containment": res.Containment}}
	if res.ExitCode == 0 {
		return report, nil
	}
	after, err := signature(t.Dir)
	if err != nil {
		return nil, err
	}
	if !equalSig(before, after) {
		// It failed but wrote something: verification judges what is there.
		return report, nil
	}
	err = fmt.Errorf("exec agent exited with status %d and changed nothing (see the agent log)", res.ExitCode)
	if res.ExitCode == ExitStatusTransient {
		return nil, agent.Transient(err)
	}
	return nil, err
}

type fileSig struct {
	size int64
	mod  time.Time
}

// signature is a cheap fingerprint of a directory: what exists, its size and
// modification time.
func signature(dir string) (map[string]fileSig, error) {
	sig := map[string]fileSig{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		sig[p] = fileSig{fi.Size(), fi.ModTime()}
		return nil
	})
	return sig, err
}

func equalSig(a, b map[string]fileSig) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !w.mod.Equal(v.mod) || w.size != v.size {
			return false
		}
	}
	return true
}
