package pipeline

import (
	"fmt"
	"io"
	"strings"
	"time"
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

func (s *Summary) timelineRows() []timelineRow {
	var rows []timelineRow
	for _, r := range s.Stages {
		rows = append(rows, timelineRow{
			Label: r.Name, Status: string(r.Status), OK: r.ok(), Started: r.Started,
			Queued: r.Start, Start: r.Start, End: r.End,
		})
		if r.Kind != KindGenerate {
			continue
		}
		for _, t := range s.Tasks {
			if t.Stage != r.Name {
				continue
			}
			queued, started, ended := s.taskSpan(t)
			row := timelineRow{
				Label: t.Module, Task: true, Status: string(t.State()), OK: t.Succeeded(), Started: true,
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

// WriteTimeline draws one bar per stage, and per task under its generate
// stage, on a common time axis of width columns: █ a stage running, ░ a
// task queued, ▓ a task running.
func (s *Summary) WriteTimeline(w io.Writer, width int) {
	if width < 20 {
		width = 20
	}
	rows := s.timelineRows()
	labelW := 5
	for _, r := range rows {
		n := len([]rune(r.Label))
		if r.Task {
			n += 2
		}
		labelW = max(labelW, n)
	}
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
		label := []rune(formatDuration(wall * time.Duration(i) / 4))
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
				dur = formatDuration(r.End - r.Start)
			} else {
				for i := a; i < b; i++ {
					bar[i] = '█'
				}
				if r.End-r.Start < wall/time.Duration(2*width) {
					bar[a] = '▏'
				}
				dur = formatDuration(r.End - r.Start)
			}
		}
		fmt.Fprintf(w, "%-*s %-10s %s %s\n", labelW, label, r.Status, string(bar), dur)
	}
}

// WriteText writes the timeline, the figures and the per-module table, for
// a person at the end of a run.
func (s *Summary) WriteText(w io.Writer) {
	fmt.Fprintf(w, "\nPipeline %s (%s), run %s\n\n", s.Pipeline, s.Mode, s.RunID)
	s.WriteTimeline(w, 60)
	path, cp := s.CriticalPath()
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  wall time           %s\n", formatDuration(s.Wall))
	fmt.Fprintf(w, "  critical path       %s  (%s)\n", formatDuration(cp), strings.Join(path, " → "))
	fmt.Fprintf(w, "  sum of stage times  %s\n", formatDuration(s.StageTime()))
	fmt.Fprintf(w, "  one at a time       %s  (stage commands plus each task's run time, back to back)\n", formatDuration(s.OneAtATime()))
	if s.Mode == ModeParallel {
		saved := s.Saved()
		pct := 0.0
		if one := s.OneAtATime(); one > 0 {
			pct = 100 * float64(saved) / float64(one)
		}
		fmt.Fprintf(w, "  saved               %s  (%.0f %% of one at a time)\n", formatDuration(saved), pct)
	}
	if mods := s.Modules(); len(mods) > 0 {
		fmt.Fprintln(w, "\n  module                              status       kept  coverage before → after")
		for _, m := range mods {
			cov := "—"
			if m.HasResult {
				cov = fmt.Sprintf("%5.1f%% → %5.1f%%  (threshold %.0f%%)", m.CoverageBefore, m.CoverageAfter, m.Threshold)
			}
			status := m.State
			if m.State == "COMPLETED" && !m.Success {
				status = "BELOW"
			}
			fmt.Fprintf(w, "  %-35s %-12s %4d  %s\n", m.Module, status, m.Kept, cov)
			if m.Note != "" {
				fmt.Fprintf(w, "      %s\n", m.Note)
			}
		}
	}
	fmt.Fprintln(w)
	switch {
	case s.Interrupted && s.Detached:
		fmt.Fprintln(w, "Interrupted; tasks were left running (--detach).")
	case s.Interrupted:
		fmt.Fprintln(w, "Interrupted; running stages were stopped and tasks cancelled.")
	case s.OK():
		fmt.Fprintln(w, "All stages succeeded.")
	default:
		var failed []string
		for _, r := range s.Stages {
			if !r.ok() {
				failed = append(failed, r.Name+" "+string(r.Status))
			}
		}
		fmt.Fprintf(w, "Failed: %s.\n", strings.Join(failed, ", "))
	}
}
