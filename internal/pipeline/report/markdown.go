package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/handoff-dev/handoff/internal/human"
	"github.com/handoff-dev/handoff/internal/pipeline"
)

// WriteMarkdown writes the summary as Markdown, for $GITHUB_STEP_SUMMARY.
func WriteMarkdown(w io.Writer, s *pipeline.Summary) error {
	var b strings.Builder
	outcome := "succeeded"
	switch {
	case s.Interrupted:
		outcome = "interrupted"
	case !s.OK():
		outcome = "failed"
	}
	fmt.Fprintf(&b, "### Pipeline `%s` %s in %s (%s)\n\n", s.Pipeline, outcome, human.Duration(s.Wall), s.Mode)
	b.WriteString("| | |\n|---|---|\n")
	for _, f := range figures(s) {
		fmt.Fprintf(&b, "| %s | %s |\n", f[0], mdCell(f[1]))
	}
	b.WriteString("\n| stage | kind | status | start | duration |\n|---|---|---|---:|---:|\n")
	for _, r := range s.Stages {
		start := "—"
		if r.Started {
			start = human.Duration(r.Start)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdCell(r.Name), r.Kind, r.Status, start, human.Duration(r.Duration()))
	}
	if mods := s.Modules(); len(mods) > 0 {
		b.WriteString("\n| module | status | kept tests | coverage before → after |\n|---|---|---:|---|\n")
		for _, m := range mods {
			fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", mdCell(m.Module), mdCell(moduleStatus(m)), m.Kept, coverageText(m))
		}
	}
	b.WriteString("\n```text\n")
	WriteTimeline(&b, s, 60)
	b.WriteString("```\n\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
