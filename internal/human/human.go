// Package human writes values for people, one way for all of handoff: the
// command line, a pipeline's messages and its reports print a duration
// alike.
package human

import (
	"fmt"
	"time"
)

// Duration renders d for people, the one format handoff prints durations
// in: 850ms, 3.2s, 2m05s, 1h02m; "0s" for none, or less than none.
func Duration(d time.Duration) string {
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
