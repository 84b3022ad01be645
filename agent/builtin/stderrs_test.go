package builtin_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/builtin"
)

// TestStandardLibraryErrorTexts: an error wrapping a standard library
// error (*strconv.NumError) is asserted as an error, not by its text; the
// package's own error texts are still pinned.
func TestStandardLibraryErrorTexts(t *testing.T) {
	t.Parallel()
	dir := copyModule(t, filepath.Join("testdata", "stderrs"), "example.com/stderrs")
	task, log := newTask(dir, "stderrs.go", "")
	_, src, _ := generate(t, builtin.Config{}, task)
	requireAssertions(t, src)
	s := string(src)
	require.NotContains(t, s, "invalid syntax", "strconv's text must not be pinned; log:\n%s", log)
	require.Contains(t, s, "wantAnyErr: true")
	require.Contains(t, s, "if err == nil {")
	require.Contains(t, s, `"stderrs: empty port"`, "the package's own texts are pinned")
	require.Contains(t, s, "is outside 1..65535", "the package's own texts are pinned")
	require.Equal(t, 100.0, goTestCover(t, dir, nil, "stderrs.go"))
}
