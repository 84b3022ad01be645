package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/internal/human"
)

// noWorkerGrace is how long a waited-on task may sit QUEUED with no worker
// alive before wait and generate say so; a worker just started needs less
// than a second to register.
const noWorkerGrace = 2 * time.Second

// redrawEvery is how often the live line is redrawn on a terminal, so its
// elapsed time moves between two reads of the task's status.
const redrawEvery = 200 * time.Millisecond

// spinner frames, one per redraw.
var spinner = []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

// taskWatch shows a waited-on task's progress on stderr while wait or
// generate blocks, the way `gh run watch` does: on a terminal one line
// (state, elapsed time, attempt, the task's progress text) redrawn in place
// and fitted to the width, coloured unless NO_COLOR is set; elsewhere (a CI
// log, a pipe) a plain line each time the state, attempt or progress text
// changes, never one per poll. With quiet it shows neither, and only says
// when the task sits QUEUED with no worker alive to take it.
type taskWatch struct {
	c      handoff.Tasks
	id     string
	w      io.Writer
	poll   time.Duration
	quiet  bool
	tty    bool
	colour bool

	mu        sync.Mutex
	st        *handoff.Status
	printed   string // plain: the last line printed, without its elapsed time
	drawn     bool   // terminal: a live line is on screen
	live      bool   // the task was seen queued or running
	frame     int
	warned    bool      // the no-worker notice was given
	nextCheck time.Time // when to look for a live worker next, while QUEUED
}

func newTaskWatch(c handoff.Tasks, id string, w io.Writer, poll time.Duration, quiet bool) *taskWatch {
	if poll <= 0 {
		poll = time.Second
	}
	_, tty := terminalWidth(w)
	_, noColour := os.LookupEnv("NO_COLOR")
	return &taskWatch{c: c, id: id, w: w, poll: poll, quiet: quiet, tty: tty, colour: tty && !noColour,
		nextCheck: time.Now().Add(noWorkerGrace)}
}

// run reads the task's status every poll interval and shows it until ctx
// ends.
func (tw *taskWatch) run(ctx context.Context) {
	poll := time.NewTicker(tw.poll)
	defer poll.Stop()
	var redraw <-chan time.Time
	if tw.tty && !tw.quiet {
		t := time.NewTicker(redrawEvery)
		defer t.Stop()
		redraw = t.C
	}
	tw.read(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			tw.read(ctx)
		case <-redraw:
			tw.mu.Lock()
			tw.draw()
			tw.mu.Unlock()
		}
	}
}

// read takes in the task's status, shows what changed and, while the task
// sits QUEUED past noWorkerGrace, checks once in a while that a worker is
// alive to take it.
func (tw *taskWatch) read(ctx context.Context) {
	st, err := tw.c.Status(ctx, tw.id)
	if err != nil {
		return // the wait itself reports what is wrong
	}
	tw.mu.Lock()
	tw.st = st
	tw.show()
	check := st.State == handoff.StateQueued && !tw.warned && !time.Now().Before(tw.nextCheck)
	tw.mu.Unlock()
	if !check {
		return
	}
	lw, ok := tw.c.(interface {
		LiveWorkers(ctx context.Context) (int, error)
	})
	if !ok {
		return // a server's workers are the server's to mind; status says why a task waits
	}
	n, err := lw.LiveWorkers(ctx)
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.nextCheck = time.Now().Add(5 * time.Second)
	if err == nil && n == 0 {
		tw.warned = true
		tw.say(fmt.Sprintf("handoff: task %s is QUEUED and no worker is alive for this database; "+
			"start one with `handoff worker` (a background worker logs to .handoff/worker.log)", tw.id))
	}
}

// show redraws the live line, or prints a plain line when the state, the
// attempt or the progress text changed. Final states are left to finish.
func (tw *taskWatch) show() {
	if tw.quiet || tw.st == nil || tw.st.State.Final() {
		return
	}
	tw.live = true
	if tw.tty {
		tw.draw()
		return
	}
	key := tw.text(time.Time{})
	if key == tw.printed {
		return
	}
	tw.printed = key
	fmt.Fprintf(tw.w, "handoff: %s\n", tw.text(time.Now()))
}

// text describes the task: its short ID, state, how long it has been in
// that state (unless now is zero), attempt and progress text.
func (tw *taskWatch) text(now time.Time) string {
	st := tw.st
	parts := []string{handoff.ShortID(st.ID), string(st.State)}
	if !now.IsZero() {
		since := st.CreatedAt
		if st.State == handoff.StateRunning && st.StartedAt != nil {
			since = *st.StartedAt
		}
		parts = append(parts, human.Duration(now.Sub(since)))
	}
	if st.Attempt > 0 {
		parts = append(parts, fmt.Sprintf("attempt %d/%d", st.Attempt, st.MaxAttempts))
	}
	line := strings.Join(parts, " ")
	switch {
	case st.Progress != "":
		line += ": " + st.Progress
	case st.State == handoff.StateQueued && st.Waiting != "":
		line += ": " + st.Waiting
	case st.State == handoff.StateQueued && st.LastError != "":
		line += ": " + st.LastError // why it is back in the queue
	case st.State == handoff.StateQueued:
		line += ": waiting for a worker"
	}
	return line
}

// draw redraws the live line in place, fitted to the terminal's width.
func (tw *taskWatch) draw() {
	if !tw.tty || tw.quiet || tw.st == nil || tw.st.State.Final() {
		return
	}
	width, _ := terminalWidth(tw.w)
	prefix := string(spinner[tw.frame%len(spinner)]) + " "
	tw.frame++
	line := truncate(prefix+tw.text(time.Now()), width-1)
	if state := prefix + handoff.ShortID(tw.st.ID) + " " + string(tw.st.State); tw.colour && strings.HasPrefix(line, state) {
		line = prefix + handoff.ShortID(tw.st.ID) + " " + colourState(tw.st.State) + line[len(state):]
	}
	fmt.Fprintf(tw.w, "\r\x1b[K%s", line)
	tw.drawn = true
}

// say prints a line that stays, above the live line.
func (tw *taskWatch) say(msg string) {
	tw.clear()
	fmt.Fprintln(tw.w, msg)
	tw.draw()
}

func (tw *taskWatch) clear() {
	if tw.drawn {
		fmt.Fprint(tw.w, "\r\x1b[K")
		tw.drawn = false
	}
}

// finish takes the live line away and, for a task it saw live that has
// ended, leaves one line saying how and after how long. Call it once run has
// returned.
func (tw *taskWatch) finish(ctx context.Context, res *handoff.Result) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.clear()
	if tw.quiet || !tw.live || res == nil || ctx.Err() != nil {
		return
	}
	line := fmt.Sprintf("handoff: %s %s", handoff.ShortID(res.TaskID), res.State)
	if st, err := tw.c.Status(ctx, res.TaskID); err == nil && st.CompletedAt != nil {
		line += " after " + human.Duration(st.CompletedAt.Sub(st.CreatedAt))
	}
	fmt.Fprintln(tw.w, line)
}

// colourState paints a state the way a terminal user scans for it.
func colourState(s handoff.State) string {
	code := "33" // yellow: waiting
	if s == handoff.StateRunning {
		code = "36" // cyan: working
	}
	return "\x1b[" + code + "m" + string(s) + "\x1b[0m"
}

// terminalWidth returns the width of w when it is a terminal that can take
// cursor movement, and ok=false otherwise (a file, a pipe, TERM=dumb).
func terminalWidth(w io.Writer) (width int, ok bool) {
	f, isFile := w.(*os.File)
	if !isFile || os.Getenv("TERM") == "dumb" || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width <= 0 {
		return 80, true
	}
	return width, true
}

// truncate cuts s to n runes, the last one an ellipsis when it had more.
func truncate(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
