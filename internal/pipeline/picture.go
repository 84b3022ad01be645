package pipeline

import (
	"fmt"
	"html"
	"io"
	"strings"
	"time"
)

// WriteSVG draws the timeline as an SVG picture: one bar per stage and task
// on a common time axis, coloured by outcome, with a tooltip per bar.
func (s *Summary) WriteSVG(w io.Writer) error {
	rows := s.timelineRows()
	const (
		labelW = 240
		barW   = 680
		rowH   = 22
		top    = 46
	)
	width := labelW + barW + 90
	height := top + rowH*len(rows) + 30
	wall := max(s.Wall, time.Millisecond)
	x := func(d time.Duration) float64 { return labelW + float64(d)/float64(wall)*barW }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<text x="8" y="18" font-size="14" font-weight="bold">%s — %s, wall %s</text>`+"\n",
		html.EscapeString(s.Pipeline), s.Mode, formatDuration(s.Wall))
	for i := 0; i <= 8; i++ {
		d := wall * time.Duration(i) / 8
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x(d), top-6, x(d), height-24)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n", x(d), top-10, formatDuration(d))
	}
	for i, r := range rows {
		y := top + i*rowH
		label := r.Label
		indent := 8
		if r.Task {
			indent = 24
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", indent, y+15, html.EscapeString(label))
		if !r.Started {
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#888">%s</text>`+"\n", labelW+4, y+15, html.EscapeString(r.Status))
			continue
		}
		tip := fmt.Sprintf("%s %s: %s → %s (%s)", label, r.Status, formatDuration(r.Start), formatDuration(r.End), formatDuration(r.End-r.Start))
		if r.Task && r.Start > r.Queued {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#cfd8dc"><title>%s queued %s</title></rect>`+"\n",
				x(r.Queued), y+5, max(1, x(r.Start)-x(r.Queued)), rowH-10, html.EscapeString(label), formatDuration(r.Start-r.Queued))
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" rx="2" fill="%s"><title>%s</title></rect>`+"\n",
			x(r.Start), y+3, max(2, x(r.End)-x(r.Start)), rowH-6, barColour(r), html.EscapeString(tip))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#333">%s</text>`+"\n", x(r.End)+4, y+15, formatDuration(r.End-r.Start))
	}
	path, cp := s.CriticalPath()
	fmt.Fprintf(&b, `<text x="8" y="%d" fill="#555">critical path %s (%s); one at a time %s</text>`+"\n",
		height-8, formatDuration(cp), html.EscapeString(strings.Join(path, " → ")), formatDuration(s.OneAtATime()))
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func barColour(r timelineRow) string {
	switch {
	case r.Task && r.OK:
		return "#1e88e5"
	case r.Task && (r.Status == "QUEUED" || r.Status == "RUNNING"):
		return "#90caf9"
	case r.OK:
		return "#43a047"
	case r.Status == string(StageCancelled) || r.Status == "CANCELLED":
		return "#9e9e9e"
	default:
		return "#e53935"
	}
}

// WriteHTML writes a self-contained page: the SVG timeline and the summary
// tables.
func (s *Summary) WriteHTML(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>%s — handoff pipeline</title>\n", html.EscapeString(s.Pipeline))
	b.WriteString("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(s.Pipeline))
	if err := s.WriteSVG(&b); err != nil {
		return err
	}
	b.WriteString("<table>\n")
	for _, f := range s.figures() {
		fmt.Fprintf(&b, "<tr><th>%s</th><td>%s</td></tr>\n", html.EscapeString(f[0]), html.EscapeString(f[1]))
	}
	b.WriteString("</table>\n<table><tr><th>stage</th><th>kind</th><th>status</th><th>start</th><th>duration</th><th>note</th></tr>\n")
	for _, r := range s.Stages {
		start := "—"
		if r.Started {
			start = formatDuration(r.Start)
		}
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			html.EscapeString(r.Name), r.Kind, r.Status, start, formatDuration(r.Duration()), html.EscapeString(r.Error))
	}
	b.WriteString("</table>\n")
	if mods := s.Modules(); len(mods) > 0 {
		b.WriteString("<table><tr><th>module</th><th>status</th><th>kept tests</th><th>coverage before → after</th></tr>\n")
		for _, m := range mods {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%d</td><td>%s</td></tr>\n",
				html.EscapeString(m.Module), html.EscapeString(moduleStatus(m)), m.Kept, html.EscapeString(coverageText(m)))
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// figures are the summary's headline numbers as label/value pairs.
func (s *Summary) figures() [][2]string {
	path, cp := s.CriticalPath()
	out := [][2]string{
		{"wall time", formatDuration(s.Wall)},
		{"critical path", formatDuration(cp) + " (" + strings.Join(path, " → ") + ")"},
		{"sum of stage times", formatDuration(s.StageTime())},
		{"one at a time", formatDuration(s.OneAtATime())},
	}
	if s.Mode == ModeParallel {
		out = append(out, [2]string{"saved", formatDuration(s.Saved())})
	}
	return out
}

func moduleStatus(m ModuleRow) string {
	if m.State == "COMPLETED" && !m.Success {
		return "COMPLETED, below threshold"
	}
	return m.State
}

func coverageText(m ModuleRow) string {
	if !m.HasResult {
		return "—"
	}
	return fmt.Sprintf("%.1f%% → %.1f%% (threshold %.0f%%)", m.CoverageBefore, m.CoverageAfter, m.Threshold)
}
