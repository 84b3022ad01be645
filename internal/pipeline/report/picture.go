package report

import (
	"fmt"
	"html"
	"io"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/internal/human"
	"github.com/handoff-dev/handoff/internal/pipeline"
)

// WriteSVG draws the timeline as an SVG picture: one bar per stage and task
// on a common time axis, coloured by outcome, with a tooltip per bar.
func WriteSVG(w io.Writer, s *pipeline.Summary) error {
	rows := timelineRows(s)
	const (
		labelW = 240
		barW   = 680
		rowH   = 22
		top    = 62
	)
	width := labelW + barW + 90
	height := top + rowH*len(rows) + 30
	wall := max(s.Wall, time.Millisecond)
	x := func(d time.Duration) float64 { return labelW + float64(d)/float64(wall)*barW }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	// An opaque background and explicit text colours: a transparent picture
	// loses its black text in a dark-themed viewer.
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	b.WriteString(`<g fill="#212121">` + "\n")
	fmt.Fprintf(&b, `<text x="8" y="18" font-size="14" font-weight="bold">%s</text>`+"\n", html.EscapeString(title(s)))
	writeLegend(&b, labelW, 34)
	for i := 0; i <= 8; i++ {
		d := wall * time.Duration(i) / 8
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", x(d), top-6, x(d), height-24)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n", x(d), top-10, human.Duration(d))
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
		tip := fmt.Sprintf("%s %s: %s → %s (%s)", label, r.Status, human.Duration(r.Start), human.Duration(r.End), human.Duration(r.End-r.Start))
		if r.Task && r.Start > r.Queued {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#cfd8dc"><title>%s queued %s</title></rect>`+"\n",
				x(r.Queued), y+5, max(1, x(r.Start)-x(r.Queued)), rowH-10, html.EscapeString(label), human.Duration(r.Start-r.Queued))
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" rx="2" fill="%s"><title>%s</title></rect>`+"\n",
			x(r.Start), y+3, max(2, x(r.End)-x(r.Start)), rowH-6, barColour(r), html.EscapeString(tip))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#333">%s</text>`+"\n", x(r.End)+4, y+15, human.Duration(r.End-r.Start))
	}
	path, cp := s.CriticalPath()
	fmt.Fprintf(&b, `<text x="8" y="%d" fill="#555">critical path %s (%s)</text>`+"\n",
		height-8, human.Duration(cp), html.EscapeString(strings.Join(path, " → ")))
	b.WriteString("</g>\n</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// title is the picture's headline: the pipeline, its outcome, mode and wall time.
func title(s *pipeline.Summary) string {
	outcome := "succeeded"
	switch {
	case s.Interrupted:
		outcome = "INTERRUPTED"
	case !s.OK():
		outcome = "FAILED"
	}
	return fmt.Sprintf("%s — %s, %s, wall %s", s.Pipeline, outcome, s.Mode, human.Duration(s.Wall))
}

// legend names what each colour of barColour means.
var legend = []struct{ colour, label string }{
	{"#43a047", "stage succeeded"},
	{"#e53935", "failed"},
	{"#9e9e9e", "cancelled"},
	{"#cfd8dc", "task queued"},
	{"#1e88e5", "task succeeded"},
	{"#90caf9", "task running"},
}

func writeLegend(b *strings.Builder, x, y int) {
	for _, l := range legend {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			x, y-9, l.colour, x+14, y, l.label)
		x += 24 + 7*len(l.label)
	}
}

func barColour(r timelineRow) string {
	switch {
	case r.Task && r.OK:
		return "#1e88e5"
	case r.Task && (r.Status == "QUEUED" || r.Status == "RUNNING"):
		return "#90caf9"
	case r.OK:
		return "#43a047"
	case r.Status == string(pipeline.StageCancelled) || r.Status == "CANCELLED":
		return "#9e9e9e"
	default:
		return "#e53935"
	}
}

// WriteHTML writes a self-contained page: the SVG timeline and the summary
// tables.
func WriteHTML(w io.Writer, s *pipeline.Summary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>%s — handoff pipeline</title>\n", html.EscapeString(s.Pipeline))
	b.WriteString("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(s.Pipeline))
	if err := WriteSVG(&b, s); err != nil {
		return err
	}
	b.WriteString("<table>\n")
	for _, f := range figures(s) {
		fmt.Fprintf(&b, "<tr><th>%s</th><td>%s</td></tr>\n", html.EscapeString(f[0]), html.EscapeString(f[1]))
	}
	b.WriteString("</table>\n<table><tr><th>stage</th><th>kind</th><th>status</th><th>start</th><th>duration</th><th>note</th></tr>\n")
	for _, r := range s.Stages {
		start := "—"
		if r.Started {
			start = human.Duration(r.Start)
		}
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			html.EscapeString(r.Name), r.Kind, r.Status, start, human.Duration(r.Duration()), html.EscapeString(r.Error))
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
func figures(s *pipeline.Summary) [][2]string {
	path, cp := s.CriticalPath()
	out := [][2]string{
		{"wall time", human.Duration(s.Wall)},
		{"critical path", human.Duration(cp) + " (" + strings.Join(path, " → ") + ")"},
		{"sum of stage times", human.Duration(s.StageTime())},
	}
	if s.Mode == pipeline.ModeParallel {
		out = append(out, [2]string{"saved", savedText(s)})
	}
	return out
}

func moduleStatus(m pipeline.ModuleRow) string {
	if m.State == "COMPLETED" && !m.Success {
		return "COMPLETED, below threshold"
	}
	return m.State
}

func coverageText(m pipeline.ModuleRow) string {
	if !m.HasResult {
		return "—"
	}
	return fmt.Sprintf("%.1f%% → %.1f%% (threshold %.0f%%)", m.CoverageBefore, m.CoverageAfter, m.Threshold)
}
