package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/handoff-dev/handoff/internal/human"
	"github.com/handoff-dev/handoff/internal/pipeline"
)

// Live shows a pipeline run as it goes; it is the pipeline.Display of the
// command line. On a terminal it keeps a block of lines, one per running
// stage and live task, redrawn in place a few times a second, with events
// printed above it; elsewhere (a CI log) it prints events as plain lines,
// and every plainEvery the active lines once, so a long wait still shows
// signs of life.
type Live struct {
	w          io.Writer
	tty        bool
	width      int
	plainEvery time.Duration

	mu      sync.Mutex
	lines   func() []string // the active lines; nil before Start
	drawn   int
	stopped bool
	quit    chan struct{}
	done    chan struct{}
}

// NewLive returns a display that writes to w (stderr).
func NewLive(w io.Writer) *Live {
	width, tty := terminalWidth(w)
	return &Live{w: orDiscard(w), tty: tty, width: width, plainEvery: 30 * time.Second}
}

// Start begins redrawing the running stages and live tasks of active's
// record. A Live shows one run at a time; it may show another after Stop.
func (v *Live) Start(active func() *pipeline.Summary) {
	v.begin(func() []string { return activeLines(active()) })
}

func (v *Live) begin(lines func() []string) {
	v.mu.Lock()
	v.lines, v.stopped = lines, false // a comparison shows two runs, one after the other
	v.mu.Unlock()
	every := 200 * time.Millisecond
	if !v.tty {
		every = v.plainEvery
	}
	v.quit, v.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(v.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-v.quit:
				return
			case <-tick.C:
				v.mu.Lock()
				if v.tty {
					v.clear()
					v.draw()
				} else if lines := v.lines(); len(lines) > 0 {
					fmt.Fprintf(v.w, "%s still running:\n%s\n", time.Now().Format("15:04:05"), strings.Join(lines, "\n"))
				}
				v.mu.Unlock()
			}
		}
	}()
}

// Stop stops redrawing and clears the block; events still print after it.
func (v *Live) Stop() {
	if v.quit != nil {
		close(v.quit)
		<-v.done
	}
	v.mu.Lock()
	v.clear()
	v.stopped = true
	v.mu.Unlock()
}

// Event prints one line (or a few) that stays on screen.
func (v *Live) Event(text string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.clear()
	fmt.Fprintf(v.w, "%s %s\n", time.Now().Format("15:04:05"), text)
	v.draw()
}

// StageFinished prints a stage's end: its status, how long it ran and
// what it said.
func (v *Live) StageFinished(rec pipeline.StageRecord, msg string) {
	line := fmt.Sprintf("%s %s", rec.Name, rec.Status)
	if rec.Started {
		line += " in " + human.Duration(rec.Duration())
	}
	if rec.AllowedFailure {
		line += " (continue-on-error)"
	}
	if msg != "" {
		line += ": " + msg
	}
	v.Event(line)
}

func (v *Live) clear() {
	if v.tty && v.drawn > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA\x1b[J", v.drawn)
		v.drawn = 0
	}
}

func (v *Live) draw() {
	if !v.tty || v.stopped || v.lines == nil {
		return
	}
	lines := v.lines()
	for _, l := range lines {
		fmt.Fprintln(v.w, truncate(l, v.width-1))
	}
	v.drawn = len(lines)
}

func truncate(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// activeLines describes the running stages and live tasks of a run, one
// line each.
func activeLines(s *pipeline.Summary) []string {
	now := time.Since(s.Started)
	var out []string
	for _, rec := range s.Stages {
		if rec.Status != pipeline.StageRunning {
			continue
		}
		line := fmt.Sprintf("  ● %-20s %-8s running  %7s", rec.Name, rec.Kind, human.Duration(now-rec.Start))
		if rec.Kind == pipeline.KindCollect {
			done := 0
			for _, t := range s.Tasks {
				if slices.Contains(rec.Tasks, t.ID) && (t.Result != nil || t.WaitError != "") {
					done++
				}
			}
			line += fmt.Sprintf("  %d/%d tasks collected", done, len(rec.Tasks))
		}
		out = append(out, line)
	}
	for _, t := range s.Tasks {
		if t.Result != nil || t.State().Final() {
			continue
		}
		since := t.Submitted
		if t.Status != nil && t.Status.StartedAt != nil {
			since = t.Status.StartedAt.Sub(s.Started)
		}
		line := fmt.Sprintf("    ◦ %-18s %-8s %-8s %7s", t.Module, t.Stage, t.State(), human.Duration(now-since))
		if t.Status != nil && t.Status.Progress != "" {
			line += "  " + t.Status.Progress
		}
		out = append(out, line)
	}
	return out
}
