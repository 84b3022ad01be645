package pipeline

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// liveView shows what is running on stderr. On a terminal it keeps a block
// of lines, one per active stage and task, redrawn in place a few times a
// second, with events printed above it; elsewhere (a CI log) it prints
// events as plain lines, and every plainEvery the active lines once, so a
// long wait still shows signs of life.
type liveView struct {
	w          io.Writer
	lines      func() []string
	tty        bool
	width      int
	plainEvery time.Duration

	mu    sync.Mutex
	drawn int
	quit  chan struct{}
	done  chan struct{}
}

func newLiveView(w io.Writer, lines func() []string) *liveView {
	width, tty := terminalWidth(w)
	return &liveView{w: w, lines: lines, tty: tty, width: width, plainEvery: 30 * time.Second}
}

func (v *liveView) start() {
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

func (v *liveView) stop() {
	close(v.quit)
	<-v.done
	v.mu.Lock()
	v.clear()
	v.mu.Unlock()
}

// event prints one line (or a few) that stays on screen.
func (v *liveView) event(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.clear()
	fmt.Fprintf(v.w, "%s %s\n", time.Now().Format("15:04:05"), msg)
	v.draw()
}

func (v *liveView) clear() {
	if v.tty && v.drawn > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA\x1b[J", v.drawn)
		v.drawn = 0
	}
}

func (v *liveView) draw() {
	if !v.tty {
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

// liveLines describes the active stages and tasks, one line each.
func (r *runner) liveLines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.since()
	var out []string
	for _, rec := range r.sum.Stages {
		if rec.Status != StageRunning {
			continue
		}
		line := fmt.Sprintf("  ● %-20s %-8s running  %7s", rec.Name, rec.Kind, formatDuration(now-rec.Start))
		if rec.Kind == KindCollect {
			done := 0
			for _, t := range r.sum.Tasks {
				if contains(rec.Tasks, t.ID) && (t.Result != nil || t.WaitError != "") {
					done++
				}
			}
			line += fmt.Sprintf("  %d/%d tasks collected", done, len(rec.Tasks))
		}
		out = append(out, line)
	}
	for _, t := range r.sum.Tasks {
		if t.Result != nil || t.State().Final() {
			continue
		}
		state := t.State()
		since := t.Submitted
		if t.Status != nil && t.Status.StartedAt != nil {
			since = t.Status.StartedAt.Sub(r.start)
		}
		line := fmt.Sprintf("    ◦ %-18s %-8s %-8s %7s", t.Module, t.Stage, state, formatDuration(now-since))
		if t.Status != nil && t.Status.Progress != "" {
			line += "  " + t.Status.Progress
		}
		out = append(out, line)
	}
	return out
}

// formatDuration renders d for people: 850ms, 3.2s, 2m05s, 1h02m.
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
