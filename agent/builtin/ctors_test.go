package builtin_test

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/builtin"
)

// TestReceiversFromConstructors: value-receiver methods get values from a
// constructor returning *T (dereferenced), and pointer-receiver methods
// from one returning T (through a pointer helper).
func TestReceiversFromConstructors(t *testing.T) {
	t.Parallel()
	dir := copyModule(t, filepath.Join("testdata", "ctors"), "example.com/ctors")
	task, log := newTask(dir, "ctors.go", "")
	rep, src, _ := generate(t, builtin.Config{}, task)
	requireAssertions(t, src)
	s := string(src)
	require.Regexp(t, regexp.MustCompile(`(?s)func TestVersion_Less\(.*\*New\(`), s,
		"Version.Less must be called on constructed versions, not only Version{}; log:\n%s", log)
	require.Regexp(t, regexp.MustCompile(`(?s)func TestCounter_Add\(.*ptrMakeCounter\(`), s,
		"Counter.Add must be called on a pointer to a constructed counter")
	cov := goTestCover(t, dir, nil, "ctors.go")
	require.GreaterOrEqual(t, cov, 90.0, "report: %s", rep.Summary)
}

// TestUnexportedTypeThroughConstructor: exported methods of an unexported
// type are tested on values from the exported constructor returning it.
func TestUnexportedTypeThroughConstructor(t *testing.T) {
	t.Parallel()
	dir := copyModule(t, filepath.Join("testdata", "ctors"), "example.com/ctors")
	task, log := newTask(dir, "ctors.go", "")
	rep, src, _ := generate(t, builtin.Config{}, task)
	require.Regexp(t, regexp.MustCompile(`(?s)func TestLexer_Next\(.*NewLexer\("\d`), string(src),
		"lexer.Next must be tested through NewLexer, on a text with a number; log:\n%s", log)
	for _, u := range rep.Unsupported {
		require.NotContains(t, u.Name, "lexer", "lexer.Next is supported: %s", u.Reason)
	}
}
