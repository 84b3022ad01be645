package builtin_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/builtin"
)

// TestOldLanguageVersions: a module whose go.mod names a language version
// older than the syntax of today's Go (0o literals, any, generics) is
// probed, and the written tests build and pass under that version.
func TestOldLanguageVersions(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"go1.9", "go1.13", "go1.17"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			dir := copyModule(t, filepath.Join("testdata", "oldgo", v), "")
			task, log := newTask(dir, "version.go", "")
			rep, src, _ := generate(t, builtin.Config{}, task)
			require.Contains(t, string(src), "func TestParse(", "log:\n%s", log)
			requireAssertions(t, src)
			cov := goTestCover(t, dir, nil, "version.go")
			require.Greater(t, cov, 50.0, "report: %s", rep.Summary)
		})
	}
}
