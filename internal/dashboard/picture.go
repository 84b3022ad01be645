package dashboard

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/handoff-dev/handoff/handofftype"
)

// funnelSVG draws the acceptance funnel: one bar per step, as wide as the
// share of generated tests that reached it. Colours come from the
// stylesheet's classes, so the picture follows the theme.
func funnelSVG(f handofftype.Funnel) template.HTML {
	steps := []struct {
		name string
		n    int
	}{{"generated", f.Generated}, {"built", f.Built}, {"passed", f.Passed}, {"stable", f.Stable}, {"improved", f.Improved}, {"kept", f.Kept}}
	const (
		labelW = 90
		barW   = 300
		rowH   = 26
	)
	var b strings.Builder
	var alt []string
	for _, s := range steps {
		alt = append(alt, fmt.Sprintf("%s %d", s.name, s.n))
	}
	fmt.Fprintf(&b, `<svg class="funnel" role="img" viewBox="0 0 %d %d" width="%d" height="%d"><title>%s</title>`,
		labelW+barW+50, rowH*len(steps), labelW+barW+50, rowH*len(steps), template.HTMLEscapeString(strings.Join(alt, ", ")))
	for i, s := range steps {
		y := i * rowH
		w := 0.0
		if f.Generated > 0 {
			w = float64(s.n) / float64(f.Generated) * barW
		}
		class := "bar"
		if s.name == "kept" {
			class = "bar kept"
		}
		fmt.Fprintf(&b, `<text class="label" x="0" y="%d">%s</text>`, y+17, s.name)
		fmt.Fprintf(&b, `<rect class="track" x="%d" y="%d" width="%d" height="%d" rx="3"/>`, labelW, y+4, barW, rowH-8)
		if s.n > 0 {
			fmt.Fprintf(&b, `<rect class="%s" x="%d" y="%d" width="%.1f" height="%d" rx="3"/>`, class, labelW, y+4, max(w, 2), rowH-8)
		}
		fmt.Fprintf(&b, `<text class="count" x="%d" y="%d">%d</text>`, labelW+barW+8, y+17, s.n)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built of numbers and fixed words only
}

// coverageBars draws a function's coverage before (thin) and after (thick).
func coverageBars(before, after float64) template.HTML {
	const w = 120
	clamp := func(p float64) float64 { return min(max(p, 0), 100) / 100 * w }
	return template.HTML(fmt.Sprintf(`<svg class="cov" viewBox="0 0 %d 14" width="%d" height="14" aria-hidden="true">`+
		`<rect class="track" x="0" y="0" width="%d" height="14" rx="2"/>`+
		`<rect class="after" x="0" y="0" width="%.1f" height="14" rx="2"/>`+
		`<rect class="before" x="0" y="5" width="%.1f" height="4"/></svg>`, w, w, w, clamp(after), clamp(before)))
}
