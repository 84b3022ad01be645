package builtin

import (
	"strings"

	"github.com/handoff-dev/handoff/agent"
)

// dropped are the tests and cases verification rejected in the previous
// round, which a repair round must not write again.
type dropped struct {
	tests map[string]string // test function → reason
	cases map[string]bool   // "TestX/case"
}

func droppedTests(fb *agent.Feedback) dropped {
	d := dropped{tests: map[string]string{}, cases: map[string]bool{}}
	if fb == nil {
		return d
	}
	for _, x := range fb.Dropped {
		name := normalizeTestName(strings.TrimSpace(x.Name))
		if name == "" {
			continue
		}
		if strings.Contains(name, "/") {
			d.cases[name] = true
			continue
		}
		reason := x.Reason
		if reason == "" {
			reason = "no reason given"
		}
		d.tests[name] = reason
	}
	return d
}
