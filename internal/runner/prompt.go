package runner

import (
	"fmt"
	"strings"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/handofftype"
)

// prompt is the instruction given to LLM-driven agents. It states the goal
// and the rules verification will enforce, so the agent does not waste a
// round learning them.
func prompt(req handofftype.Request, lang string, fb *agent.Feedback) string {
	var b strings.Builder
	framework := "Go's standard testing package (package-internal tests are fine)"
	if lang == "python" {
		framework = "pytest"
	}
	fmt.Fprintf(&b, "Write unit tests for the %s module `%s`.\n\n", lang, req.Module)
	fmt.Fprintf(&b, "Goal: statement coverage of `%s` of at least %.0f %%.\n", req.Module, *req.Coverage)
	fmt.Fprintf(&b, "Put the tests in `%s`, using %s.\n\n", req.Output, framework)
	b.WriteString("Rules (each generated test is checked and dropped if it breaks one):\n" +
		"- Change no file except test files; do not edit the module, go.mod/go.sum or requirements.\n" +
		"- Every test must assert something and pass reliably: no network, no sleeps, no randomness, no clock.\n" +
		"- Each test must exercise code of the module that other tests do not already cover.\n" +
		"- Keep tests independent of their order.\n" +
		"- Leave the workspace as you found it: tests write only to temporary directories (t.TempDir() in Go, tmp_path in pytest).\n" +
		"- Keep tests small: each run has limits on the bytes it writes, its processes and its memory.\n")
	if fb != nil {
		b.WriteString("\nVerification of your previous round:\n")
		if fb.Text != "" {
			b.WriteString(fb.Text)
			b.WriteString("\n")
		} else {
			fmt.Fprintf(&b, "Coverage %.1f %% → %.1f %% (goal %.0f %%).\n", fb.CoverageBefore, fb.CoverageAfter, fb.Threshold)
			for _, d := range fb.Dropped {
				fmt.Fprintf(&b, "- dropped %s: %s %s\n", d.Name, d.Reason, d.Excerpt)
			}
			for _, u := range fb.Uncovered {
				fmt.Fprintf(&b, "- %s is covered %.0f %%\n", u.Name, u.Percent)
			}
		}
		b.WriteString("Keep the tests that were kept; fix or replace the dropped ones; cover what is still uncovered.\n")
	}
	return b.String()
}
