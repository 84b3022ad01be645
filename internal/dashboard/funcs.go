package dashboard

import (
	"fmt"
	"html/template"
	"time"

	"github.com/handoff-dev/handoff/internal/human"
)

var funcs = template.FuncMap{
	"pct":      func(p float64) string { return fmt.Sprintf("%.1f%%", p) },
	"duration": func(d time.Duration) string { return human.Duration(d) },
	"ms":       func(n int64) string { return human.Duration(time.Duration(n) * time.Millisecond) },
	"age":      age,
	"stamp":    func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"deref":    func(p *bool) bool { return p != nil && *p },
}

// age says how long ago t was, in the largest unit that fits.
func age(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
