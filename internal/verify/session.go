package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/redact"
	"github.com/handoff-dev/handoff/internal/sandbox"
)

// ErrToolchain wraps failures of the language tooling itself (go or the
// Python interpreter missing or broken), as opposed to test verdicts.
var ErrToolchain = errors.New("test toolchain unavailable")

// session is the state of one Measure, Verify or Recheck call: options,
// toolchain, a scratch directory outside the task directory, and the record
// of commands run.
type session struct {
	o           Options
	tc          toolchain
	scratch     string
	commands    []handofftype.CommandRun
	containment string
	runs        int      // test runs so far (suite and single-test runs)
	writable    []string // extra writable paths for sandboxed runs
	readOnly    []string // what sandboxed runs may read besides the base view: toolchain, caches, libraries
	gaps        []string // what the containment of sandboxed runs lacked
	limitHit    []string // limits reached by the runs since the last takeLimitHits
	env         []string // extra environment for sandboxed runs
	seq         int      // for unique scratch file names
	generation  int      // bumped whenever verification rewrites a file in the task directory
	// scope is what suite runs cover (toolchain.scope); testFile maps each
	// generated test's name to its file.
	scope    []string
	testFile map[string]string
}

func newSession(o Options) (*session, error) {
	tc, err := newToolchain(o.Language)
	if err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp("", "handoff-verify-")
	if err != nil {
		return nil, fmt.Errorf("create a scratch directory for verification (is TMPDIR writable?): %w", err)
	}
	return &session{o: o, tc: tc, scratch: scratch, testFile: map[string]string{}}, nil
}

func (s *session) close() { _ = os.RemoveAll(s.scratch) }

// scratchPath returns a fresh path in the scratch directory.
func (s *session) scratchPath(format string) string {
	s.seq++
	return filepath.Join(s.scratch, fmt.Sprintf(format, s.seq))
}

// abs returns the absolute path of a path relative to the task directory.
func (s *session) abs(rel string) string {
	return filepath.Join(s.o.Dir, filepath.FromSlash(rel))
}

func (s *session) logf(format string, args ...any) {
	_, _ = io.WriteString(s.o.Log, redact.String(fmt.Sprintf(format+"\n", args...)))
}

// command is one process to run.
type command struct {
	Args    []string
	Dir     string // working directory; empty means the task directory
	Env     []string
	Stdin   []byte
	Timeout time.Duration
	// Combined sends stderr down the same pipe as stdout, so that Stdout
	// holds both in the order they were written (as go test reads a test
	// binary); Stderr is then empty.
	Combined bool
	// Trusted commands (module downloads) run outside the sandbox, with
	// network; tests never do.
	Trusted bool
}

// ran is what a command did.
type ran struct {
	Stdout, Stderr []byte
	Exit           int
	TimedOut       bool
	Duration       time.Duration
}

// exec runs c in the sandbox (unless trusted), records it in the session's
// commands and logs the command line and how it ended. The error is for
// commands that could not run at all and for a cancelled context.
func (s *session) exec(ctx context.Context, c command) (*ran, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("verification stopped: %w", err)
	}
	dir := c.Dir
	if dir == "" {
		dir = s.o.Dir
	}
	var stdout, stderr bytes.Buffer
	sc := sandbox.Cmd{
		Args:    c.Args,
		Dir:     dir,
		Env:     append(append([]string{}, s.env...), c.Env...),
		Stdin:   bytes.NewReader(c.Stdin),
		Stdout:  &stdout,
		Stderr:  &stderr,
		Timeout: c.Timeout,
	}
	if c.Combined {
		sc.Stderr = &stdout
	}
	if !c.Trusted {
		sc.Isolate = true
		sc.Writable = append([]string{s.o.Dir, s.scratch}, s.writable...)
		sc.ReadOnly = s.readOnly
		sc.Limits = s.o.Limits
	}
	desc := sandbox.Describe(c.Args)
	s.logf("$ %s", desc)
	res, err := sandbox.Run(ctx, sc)
	if !c.Trusted && res.Containment != "" {
		s.containment = res.Containment
		s.noteGaps(res.Gaps)
		s.limitHit = append(s.limitHit, res.LimitHit...)
	}
	rec := handofftype.CommandRun{Command: desc, Duration: res.Duration, ExitCode: res.ExitCode, TimedOut: res.TimedOut}
	if err != nil {
		if errors.Is(err, sandbox.ErrNotStarted) {
			return nil, fmt.Errorf("%w: %v", ErrToolchain, err)
		}
		return nil, err
	}
	s.commands = append(s.commands, rec)
	switch {
	case res.Cancelled:
		s.logf("# cancelled after %s", res.Duration.Round(time.Millisecond))
		return nil, fmt.Errorf("verification stopped: %w", context.Cause(ctx))
	case res.TimedOut:
		s.logf("# killed after %s: the run passed its timeout", res.Duration.Round(time.Millisecond))
	case len(res.LimitHit) > 0:
		s.logf("# exit %d in %s; the run reached its %s limit", res.ExitCode, res.Duration.Round(time.Millisecond), strings.Join(res.LimitHit, " and "))
	default:
		s.logf("# exit %d in %s", res.ExitCode, res.Duration.Round(time.Millisecond))
	}
	return &ran{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Exit: res.ExitCode, TimedOut: res.TimedOut, Duration: res.Duration}, nil
}

// noteGaps records what a run's containment lacked, once each.
func (s *session) noteGaps(gaps []string) {
	for _, g := range gaps {
		if !slices.Contains(s.gaps, g) {
			s.gaps = append(s.gaps, g)
			s.logf("# containment is weaker: %s", g)
		}
	}
}

// takeLimitHits returns the limits reached since the last call, once each.
func (s *session) takeLimitHits() []string {
	var out []string
	for _, l := range s.limitHit {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	s.limitHit = nil
	return out
}

// logText writes text to the transcript, indented, capped, redacted.
func (s *session) logText(text string) {
	text = strings.TrimRight(redact.String(text), "\n")
	if text == "" {
		return
	}
	const max = 64 << 10
	if len(text) > max {
		text = "[… " + fmt.Sprint(len(text)-max) + " bytes cut …]\n" + text[len(text)-max:]
	}
	_, _ = io.WriteString(s.o.Log, indent(text)+"\n")
}

func indent(text string) string {
	return "  " + strings.ReplaceAll(text, "\n", "\n  ")
}

// excerpt trims failure output to a short excerpt for results: at most 20
// lines and 1,500 bytes, keeping the start. Secrets are masked before the
// cut, so that no part of one survives it.
func excerpt(text string) string {
	text = strings.TrimSpace(redact.String(text))
	lines := strings.Split(text, "\n")
	if len(lines) > 20 {
		lines = append(lines[:20], "…")
	}
	text = strings.Join(lines, "\n")
	if len(text) > 1500 {
		text = text[:1500] + "…"
	}
	return text
}
