package builtin_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/builtin"
)

// TestObservableBehaviour: what a call does is asserted where it can be
// seen: a *regexp.Regexp result through its String method, a cached result
// on a second call, a function argument through stubs returning
// constants, and a setter without results by whether it panics. The file
// passes shuffled runs and go vet.
func TestObservableBehaviour(t *testing.T) {
	t.Parallel()
	dir := copyModule(t, filepath.Join("testdata", "observe"), "example.com/observe")
	task, log := newTask(dir, "observe.go", "")
	rep, src, _ := generate(t, builtin.Config{}, task)
	requireAssertions(t, src)
	s := string(src)
	for what, re := range map[string]string{
		"Regexp asserted through String":     `(?s)func TestPattern_Regexp\(.*got\.String\(\) != tt\.wantStr`,
		"Regexp called twice for its cache":  `(?s)func TestPattern_Regexp\(.*callTwice: true`,
		"Filter given a stub":                `(?s)func TestFilter\(.*keep: +func\(string\) bool \{ return (true|false) \}`,
		"SetStrict tested for not panicking": `(?s)func TestSetStrict\(.*r == nil && tt\.wantPanic != ""`,
	} {
		require.Regexp(t, regexp.MustCompile(re), s, "%s; log:\n%s", what, log)
	}
	cov := goTestCover(t, dir, []string{"-shuffle=on"}, "observe.go")
	require.Equal(t, 100.0, cov, "report: %s", rep.Summary)
	vet := exec.Command("go", "vet", ".")
	vet.Dir = dir
	out, err := vet.CombinedOutput()
	require.NoError(t, err, "go vet:\n%s", out)
}
