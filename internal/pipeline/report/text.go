package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/human"
	"github.com/handoff-dev/handoff/internal/pipeline"
)

// timelineRow is one bar of a timeline: a stage, or a task under the
// generate stage that submitted it (queued from Queued, running from Start).
type timelineRow struct {
	Label   string
	Task    bool
	Status  string
	OK      bool
	Started bool
	Queued  time.Duration
	Start   time.Duration
	End     time.Duration
}

func timelineRows(s *pipeline.Summary) []timelineRow {
	var rows []timelineRow
	for _, r := range s.Stages {
		rows = append(rows, timelineRow{
			Label: r.Name, Status: string(r.Status), OK: r.OK(), Started: r.Started,
			Queued: r.Start, Start: r.Start, End: r.End,
		})
		if r.Kind != pipeline.KindGenerate {
			continue
		}
		for _, t := range s.Tasks {
			if t.Stage != r.Name {
				continue
			}
			queued, started, ended := s.TaskSpan(t)
			status := string(t.State())
			if t.State() == handofftype.StateCompleted && !t.Succeeded() {
				status = "BELOW" // a verdict, under the threshold: not to be read as a success
			}
			row := timelineRow{
				Label: t.Module, Task: true, Status: status, OK: t.Succeeded(), Started: true,
				Queued: queued, Start: started, End: ended,
			}
			if started < 0 {
				row.Start = ended // never seen running: all queued
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// TextStyle says how end-of-run text is laid out: its width in columns and
// whether it may use ANSI colours (a terminal, NO_COLOR unset).
type TextStyle struct {
	Width  int
	Colour bool
}

// PlainText is the style for files, pipes and CI logs: 80 columns, no colour.
var PlainText = TextStyle{Width: 80}

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiGrey   = "\x1b[90m"
)

// paint wraps text in an ANSI colour when the style allows colour.
func (st TextStyle) paint(colour, text string) string {
	if !st.Colour || colour == "" {
		return text
	}
	return colour + text + ansiReset
}

// statusColour is the colour of a stage's or task's status.
func statusColour(status string, ok bool) string {
	switch {
	case ok && (status == "COMPLETED" || status == string(pipeline.StageSucceeded)):
		return ansiGreen
	case status == "BELOW" || status == "COMPLETED":
		return ansiYellow
	case status == "QUEUED" || status == "RUNNING" || status == string(pipeline.StageRunning):
		return ansiBlue
	case status == "CANCELLED" || status == string(pipeline.StageCancelled) || status == string(pipeline.StageSkipped) || status == string(pipeline.StagePending):
		return ansiGrey
	case ok:
		return ansiGreen
	}
	return ansiRed
}

// WriteTimeline draws one bar per stage, and per task under its generate
// stage, on a common time axis of width columns: █ a stage running, ░ a
// task queued, ▓ a task running.
func WriteTimeline(w io.Writer, s *pipeline.Summary, width int) {
	writeTimeline(w, s, width, TextStyle{})
}

// timelineLabelWidth is the width of the label column of the timeline.
func timelineLabelWidth(rows []timelineRow) int {
	labelW := 5
	for _, r := range rows {
		n := len([]rune(r.Label))
		if r.Task {
			n += 2
		}
		labelW = max(labelW, n)
	}
	return labelW
}

func writeTimeline(w io.Writer, s *pipeline.Summary, width int, st TextStyle) {
	if width < 20 {
		width = 20
	}
	rows := timelineRows(s)
	labelW := timelineLabelWidth(rows)
	wall := max(s.Wall, time.Millisecond)
	col := func(d time.Duration) int {
		return min(width, max(0, int(float64(d)/float64(wall)*float64(width)+0.5)))
	}
	pad := strings.Repeat(" ", labelW+12)
	// Axis: five labels at quarters.
	axis := []rune(strings.Repeat(" ", width+8))
	ticks := []rune(strings.Repeat("─", width))
	for i := 0; i <= 4; i++ {
		c := min(width-1, i*width/4)
		ticks[c] = '┬'
		label := []rune(human.Duration(wall * time.Duration(i) / 4))
		start := max(0, min(c-len(label)/2, len(axis)-len(label)))
		copy(axis[start:], label)
	}
	fmt.Fprintf(w, "%s%s\n%s%s\n", pad, strings.TrimRight(string(axis), " "), pad, string(ticks))
	for _, r := range rows {
		label := r.Label
		if r.Task {
			label = "  " + label
		}
		bar := []rune(strings.Repeat(" ", width))
		dur := ""
		if r.Started {
			a := min(col(r.Queued), width-1)
			b := max(col(r.End), a+1) // bar covers columns [a, b)
			if r.Task {
				sc := min(col(r.Start), b-1)
				for i := a; i < b; i++ {
					bar[i] = '░'
					if i >= sc {
						bar[i] = '▓'
					}
				}
			} else {
				for i := a; i < b; i++ {
					bar[i] = '█'
				}
				if r.End-r.Start < wall/time.Duration(2*width) {
					bar[a] = '▏'
				}
			}
			dur = human.Duration(r.End - r.Start)
		}
		colour := statusColour(r.Status, r.OK)
		status := fmt.Sprintf("%-10s", r.Status)
		fmt.Fprintf(w, "%-*s %s %s %s\n", labelW, label, st.paint(colour, status), st.paint(colour, string(bar)), dur)
	}
}

// WriteText writes the timeline, the figures and the per-module table, for
// a person at the end of a run, fitted to st.Width columns and coloured when
// st.Colour (PlainText for files, pipes and CI logs).
func WriteText(w io.Writer, s *pipeline.Summary, st TextStyle) {
	width := max(st.Width, 60)
	fmt.Fprintf(w, "\nPipeline %s (%s), run %s\n\n", s.Pipeline, s.Mode, s.RunID)
	// label, a space, 10 of status, a space, the bars, a space, 6 of duration.
	labelW := timelineLabelWidth(timelineRows(s))
	writeTimeline(w, s, max(20, width-labelW-19), st)
	path, cp := s.CriticalPath()
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  wall time           %s\n", human.Duration(s.Wall))
	fmt.Fprintf(w, "  critical path       %s  (%s)\n", human.Duration(cp), strings.Join(path, " → "))
	fmt.Fprintf(w, "  sum of stage times  %s\n", human.Duration(s.StageTime()))
	if s.Mode == pipeline.ModeParallel {
		fmt.Fprintf(w, "  saved               %s\n", savedText(s))
	}
	writeModules(w, s, width, st)
	fmt.Fprintln(w)
	fmt.Fprintln(w, outcomeLine(s))
}

// writeModules writes the per-module table of WriteText.
func writeModules(w io.Writer, s *pipeline.Summary, width int, st TextStyle) {
	mods := s.Modules()
	if len(mods) == 0 {
		return
	}
	// module, status (12), kept (4) and coverage (32) on one line.
	modW := 6
	for _, m := range mods {
		modW = max(modW, len([]rune(m.Module)))
	}
	modW = min(modW, max(12, width-2-1-12-1-4-2-32))
	fmt.Fprintf(w, "\n  %-*s %-12s %4s  %s\n", modW, "module", "status", "kept", "coverage before → after")
	for _, m := range mods {
		cov := "—"
		if m.HasResult {
			cov = fmt.Sprintf("%5.1f%% → %5.1f%%  (threshold %.0f%%)", m.CoverageBefore, m.CoverageAfter, m.Threshold)
		}
		status := m.State
		if m.State == "COMPLETED" && !m.Success {
			status = "BELOW"
		}
		fmt.Fprintf(w, "  %-*s %s %4d  %s\n", modW, shortenLeft(m.Module, modW),
			st.paint(statusColour(status, m.Success), fmt.Sprintf("%-12s", status)), m.Kept, cov)
		if m.Note != "" {
			fmt.Fprintf(w, "      %s\n", m.Note)
		}
	}
}

// outcomeLine is the last line of WriteText: how the run ended.
func outcomeLine(s *pipeline.Summary) string {
	switch {
	case s.Interrupted && s.Detached:
		return "Interrupted; tasks were left running (--detach)."
	case s.Interrupted:
		return "Interrupted; running stages were stopped and tasks cancelled."
	case s.OK():
		return "All stages succeeded."
	}
	var failed []string
	for _, r := range s.Stages {
		if !r.OK() {
			failed = append(failed, r.Name+" "+string(r.Status))
		}
	}
	return fmt.Sprintf("Failed: %s.", strings.Join(failed, ", "))
}

// savedText renders the measured saving, or says how to measure one.
func savedText(s *pipeline.Summary) string {
	saved, ok := s.Saved()
	if !ok {
		return "not measured (run once with --blocking to compare)"
	}
	pct := 100 * float64(saved) / float64(max(s.Blocking.Wall, time.Millisecond))
	amount := human.Duration(saved)
	if saved < 0 { // this run was slower: say by how much, not "0s"
		amount = "-" + human.Duration(-saved)
	}
	return fmt.Sprintf("%s (%.0f %%) vs. the blocking run of %s (%s)", amount, pct,
		s.Blocking.Started.Local().Format("2006-01-02 15:04"), human.Duration(s.Blocking.Wall))
}

// shortenLeft keeps the end of a path that is wider than n columns, where
// the file name is: "…/inventory/stock.go".
func shortenLeft(p string, n int) string {
	r := []rune(p)
	if len(r) <= n || n < 2 {
		return p
	}
	return "…" + string(r[len(r)-n+1:])
}
