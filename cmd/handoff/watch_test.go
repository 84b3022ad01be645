package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/testenv"
)

// proc is a handoff command running in the background.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout testenv.Buffer
	stderr testenv.Buffer // what reached stderr: a pipe, or the terminal's screen
	done   chan struct{}
	code   int
}

// start starts the handoff binary in the workspace without waiting for it.
// With cols > 0 its stderr is a terminal of that many columns (stdout stays
// a pipe, as in `id=$(handoff ...)`); otherwise stderr is a pipe too. TERM
// and NO_COLOR come from extra only.
func (e *env) start(cols uint16, extra []string, args ...string) *proc {
	e.t.Helper()
	p := &proc{t: e.t, done: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Dir = e.ws
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TERM=") && !strings.HasPrefix(kv, "NO_COLOR=") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(append(p.cmd.Env, e.vars...), extra...)
	p.cmd.Stdout = &p.stdout
	var tty *os.File
	if cols > 0 {
		master, slave, err := pty.Open()
		if err != nil {
			testenv.Missing(e.t, "a pseudo-terminal", "run the tests where /dev/pts is mounted")
		}
		e.t.Cleanup(func() { master.Close() })
		require.NoError(e.t, pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: cols}))
		go func() { _, _ = io.Copy(&p.stderr, master) }() // ends when the terminal closes
		p.cmd.Stderr, tty = slave, slave
	} else {
		p.cmd.Stderr = &p.stderr
	}
	require.NoError(e.t, p.cmd.Start())
	if tty != nil {
		tty.Close() // the child holds its own copy
	}
	go func() {
		defer close(p.done)
		err := p.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		}
	}()
	e.t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the command to exit and returns its exit code.
func (p *proc) wait(within time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(within):
		p.t.Fatalf("%v did not exit within %s; stderr so far:\n%q", p.cmd.Args, within, p.stderr.String())
		return -1
	}
}

// until polls cond with a deadline; what names what is awaited.
func until(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond) // polling interval with a deadline, not a wait for an event
	}
}

var (
	sgr      = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	liveLine = regexp.MustCompile(`^. [0-9a-f]{8} RUNNING ([0-9.]+m?s|\dm\d\ds) attempt 1/3`)
)

// redraws returns the lines drawn in place on a terminal screen: each one
// follows a carriage return and an erase-line, colours taken out.
func redraws(screen string) []string {
	parts := strings.Split(screen, "\r\x1b[K")
	var out []string
	for _, p := range parts[1:] {
		cut := strings.SplitN(sgr.ReplaceAllString(p, ""), "\r", 2)
		seg := cut[0]
		if strings.HasSuffix(seg, "\n") || len(cut) == 2 && strings.HasPrefix(cut[1], "\n") {
			// A line said once and kept (the notice that no worker is
			// alive, how the task ended), not the line redrawn in place;
			// a terminal writes its newline as \r\n.
			continue
		}
		if seg != "" {
			out = append(out, seg)
		}
	}
	return out
}

// elapsedShown returns the distinct elapsed times of the live lines that
// carry want.
func elapsedShown(lines []string, want string) map[string]bool {
	seen := map[string]bool{}
	for _, l := range lines {
		if m := liveLine.FindStringSubmatch(l); m != nil && strings.Contains(l, want) {
			seen[m[1]] = true
		}
	}
	return seen
}

// TestLiveLineOnTerminal: generate and wait, their stderr a terminal, show
// the task's state, elapsed time, attempt and progress text on one line
// redrawn in place, fitted to the terminal's width, coloured unless
// NO_COLOR is set; stdout carries nothing but the data.
func TestLiveLineOnTerminal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	marks := t.TempDir()
	// The agent works until the test has seen what it looks for.
	e.vars = append(e.vars, "MARKS="+marks, "HANDOFF_EXEC_ENV=MARKS",
		`HANDOFF_EXEC_COMMAND=while [ ! -e "$MARKS/go" ]; do sleep 0.05; done; `+goodTests)
	e.worker()
	gen := e.start(100, []string{"TERM=xterm"}, "generate", "--module", "calc.go", "--agent", "exec", "--json", "--poll-interval", "100ms")
	idLine := regexp.MustCompile(`handoff: task ([0-9a-f-]{36})`)
	until(t, 2*time.Minute, "task ID on generate's stderr", func() bool { return idLine.MatchString(gen.stderr.String()) })
	id := idLine.FindStringSubmatch(gen.stderr.String())[1]
	narrow := e.start(40, []string{"TERM=xterm", "NO_COLOR=1"}, "wait", id, "--poll-interval", "100ms")

	// Both redraw the line in place as the elapsed time moves on.
	until(t, 2*time.Minute, "live line redrawn with a moving elapsed time", func() bool {
		return len(elapsedShown(redraws(gen.stderr.String()), ": running the exec agent")) >= 2 &&
			len(elapsedShown(redraws(narrow.stderr.String()), "attempt 1/3")) >= 2
	})
	write(t, filepath.Join(marks, "go"), "")
	require.Equal(t, 0, gen.wait(3*time.Minute), gen.stderr.String())
	require.Equal(t, 0, narrow.wait(3*time.Minute), narrow.stderr.String())

	screen := gen.stderr.String()
	require.Contains(t, screen, "\x1b[36mRUNNING\x1b[0m", "the state is coloured on a terminal")
	require.Regexp(t, `handoff: [0-9a-f]{8} COMPLETED after [0-9.]+m?s`, screen, "the last line stays: how the task ended")
	dec := json.NewDecoder(bytes.NewReader([]byte(gen.stdout.String())))
	var res map[string]any
	require.NoError(t, dec.Decode(&res), "stdout is the JSON result:\n%s", gen.stdout.String())
	require.False(t, dec.More(), "stdout holds nothing but the JSON result:\n%s", gen.stdout.String())
	require.Equal(t, id, res["task_id"])
	require.Equal(t, true, res["success"])

	screen = narrow.stderr.String()
	require.NotRegexp(t, `\x1b\[3\dm`, screen, "NO_COLOR turns colour off")
	for _, l := range redraws(screen) {
		require.LessOrEqual(t, utf8.RuneCountInString(l), 39, "a live line fits 40 columns: %q", l)
	}
	require.Contains(t, strings.Join(redraws(screen), "\n"), "…", "a line too long for the terminal is cut")
	out := narrow.stdout.String()
	require.True(t, strings.HasPrefix(out, "task "), "stdout is the result:\n%s", out)
	require.NotContains(t, out, "\x1b", "stdout, a pipe, gets no terminal codes")
	require.NotContains(t, out, "RUNNING", "progress stays on stderr")
}

// TestProgressLinesWhenNotATerminal: with stderr a pipe (a CI log), wait
// prints one plain line per change of state or progress, not one per poll;
// --quiet prints none.
func TestProgressLinesWhenNotATerminal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	// The agent takes a second: some fifty polls at 20ms see the same
	// progress text.
	e.vars = append(e.vars, "HANDOFF_EXEC_COMMAND=sleep 1; "+goodTests)
	sub := e.run(nil, "submit", "--module", "calc.go", "--agent", "exec")
	require.Equal(t, 0, sub.code, sub.stderr)
	id := strings.TrimSpace(sub.stdout)

	plain := e.start(0, nil, "wait", id, "--poll-interval", "20ms")
	quiet := e.start(0, nil, "wait", id, "--poll-interval", "20ms", "--quiet")
	until(t, 2*time.Minute, "the QUEUED line", func() bool { return strings.Contains(plain.stderr.String(), " QUEUED ") })
	e.worker()
	require.Equal(t, 0, plain.wait(3*time.Minute), plain.stderr.String())
	require.Equal(t, 0, quiet.wait(3*time.Minute), quiet.stderr.String())

	log := plain.stderr.String()
	require.NotContains(t, log, "\r", "no redraws in a log")
	require.NotContains(t, log, "\x1b", "no terminal codes in a log")
	lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	short := id[len(id)-8:]
	require.Regexp(t, `^handoff: `+short+` QUEUED [0-9.]+m?s: waiting for a worker$`, lines[0])
	require.Regexp(t, `^handoff: `+short+` COMPLETED after [0-9.]+m?s$`, lines[len(lines)-1])
	require.Equal(t, 1, strings.Count(log, ": running the exec agent"), "one line per change, not per poll:\n%s", log)
	elapsed := regexp.MustCompile(` [0-9.]+m?s`)
	for i := 1; i < len(lines); i++ {
		require.NotEqual(t, elapsed.ReplaceAllString(lines[i-1], ""), elapsed.ReplaceAllString(lines[i], ""),
			"each line says something new:\n%s", log)
	}
	require.Less(t, len(lines), 12, "a handful of lines for a task's life:\n%s", log)

	require.NotRegexp(t, `handoff: [0-9a-f]{8} (QUEUED|RUNNING|COMPLETED)`, quiet.stderr.String(), "--quiet shows no progress")
	require.True(t, strings.HasPrefix(quiet.stdout.String(), "task "), "the result still reaches stdout")
}
