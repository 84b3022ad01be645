package verify

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
)

func TestLanguageAndDefaultOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"main.go":                 "package tool\n",
		"pkg/x.go":                "package pkg\n",
		"pkg/y.go":                "package pkg\n",
		"pkg/y_test.go":           "package pkg\n",
		"pkg/foo/foo.go":          "package foo\n",
		"pkg/bar/bar.go":          "package bar\n",
		"pkg/bar/bar_test.go":     "package bar\n",
		"a/b/c.py":                "x = 1\n",
		"a/b/d.py":                "y = 1\n",
		"tests/a/b/test_d.py":     "",
		"docs/readme.md":          "",
		"empty/.keep":             "",
		"onlytests/z_test.go":     "package z\n",
		"top.py":                  "",
		"pkg/foo/testdata/in.txt": "",
	}
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	for _, tc := range []struct{ module, lang, output string }{
		{"pkg/x.go", LanguageGo, "pkg/x_test.go"},
		{"pkg/y.go", LanguageGo, "pkg/y_handoff_test.go"},
		{"pkg/foo", LanguageGo, "pkg/foo/foo_test.go"},
		{"pkg/bar/", LanguageGo, "pkg/bar/bar_handoff_test.go"},
		{".", LanguageGo, "tool_test.go"},
		{"a/b/c.py", LanguagePython, "tests/a/b/test_c.py"},
		{"a/b/d.py", LanguagePython, "tests/a/b/test_d_handoff.py"},
		{"top.py", LanguagePython, "tests/test_top.py"},
	} {
		lang, err := Language(os.DirFS(dir), tc.module)
		require.NoError(t, err, tc.module)
		require.Equal(t, tc.lang, lang, tc.module)
		out, err := DefaultOutput(os.DirFS(dir), tc.module)
		require.NoError(t, err, tc.module)
		require.Equal(t, tc.output, out, tc.module)
	}
	for _, bad := range []string{"docs/readme.md", "empty", "onlytests", "pkg/y_test.go", "tests/a/b/test_d.py", "../x.go", "/etc/x.go", "", "missing.go"} {
		_, err := Language(os.DirFS(dir), bad)
		require.Error(t, err, bad)
		if bad != "missing.go" {
			require.True(t, errors.Is(err, ErrUnsupportedModule), "%s: %v", bad, err)
		}
	}
	_, err := Language(os.DirFS(dir), "docs/readme.md")
	require.ErrorContains(t, err, "handoff supports Go (a .go file or a package directory) and Python (a .py file)")
}

func TestIsTestFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lang, rel string
		want      bool
	}{
		{LanguageGo, "pkg/x_test.go", true},
		{LanguageGo, "x_test.go", true},
		{LanguageGo, "pkg/x.go", false},
		{LanguageGo, "pkg/testdata/x.json", false},
		{LanguageGo, "go.mod", false},
		{LanguageGo, "tests/test_x.py", false},
		{LanguagePython, "tests/test_x.py", true},
		{LanguagePython, "tests/x_test.py", true},
		{LanguagePython, "tests/conftest.py", true},
		{LanguagePython, "tests/helpers.py", false},
		{LanguagePython, "tests/__init__.py", false},
		{LanguagePython, "requirements.txt", false},
		{LanguagePython, "tests/test_x.pyc", false},
		{"rust", "x_test.go", false},
	} {
		require.Equal(t, tc.want, IsTestFile(tc.lang, tc.rel), "%s %s", tc.lang, tc.rel)
	}
}

// FileLanguage and IsGoSource are the rules every package asks (the
// pipeline's module globs, the runner's check that a package moved, the
// Go toolchain's package facts) instead of matching suffixes of its own.
func TestFileLanguage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, lang string
		goSource   bool
	}{
		{"x.go", LanguageGo, true},
		{"pkg/x.go", LanguageGo, true},
		{"x_test.go", LanguageGo, false},
		{"a/b/c.py", LanguagePython, false},
		{"test_c.py", LanguagePython, false},
		{"conftest.py", LanguagePython, false},
		{"x.pyc", "", false},
		{"go.mod", "", false},
		{"README.md", "", false},
		{"dir.go/x", "", false},
	} {
		require.Equal(t, tc.lang, FileLanguage(tc.name), tc.name)
		require.Equal(t, tc.goSource, IsGoSource(tc.name), tc.name)
	}
}

func TestOptionsNormalize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.go"), []byte("package x\n"), 0o644))
	o, err := Options{Dir: dir, Module: "x.go"}.normalize()
	require.NoError(t, err)
	require.Equal(t, LanguageGo, o.Language)
	require.Equal(t, "x_test.go", o.Output)
	require.Equal(t, handofftype.DefaultRuns, o.Runs)
	require.Equal(t, handofftype.DefaultTestTimeout, o.TestTimeout)
	require.NotNil(t, o.Log)

	_, err = Options{Dir: "relative", Module: "x.go"}.normalize()
	require.ErrorContains(t, err, "absolute")
	_, err = Options{Dir: dir, Module: "x.go", Output: "x.go"}.normalize()
	require.ErrorContains(t, err, "not a go test file name")
	_, err = Options{Dir: dir, Module: "x.go", Output: "../x_test.go"}.normalize()
	require.Error(t, err)
}

// CheckOutput is the one rule for where kept tests may land: submit asks it,
// and verify asks it again.
func TestCheckOutput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lang, output string
		want         string // "" means accepted
	}{
		{LanguageGo, "pkg/x_test.go", ""},
		{LanguageGo, "./pkg/../x_test.go", ""},
		{LanguagePython, "tests/test_x.py", ""},
		{LanguagePython, "tests/x_test.py", ""},
		{LanguageGo, "", "not a file path inside the workspace"},
		{LanguageGo, ".", "not a file path inside the workspace"},
		{LanguageGo, "../x_test.go", "not a file path inside the workspace"},
		{LanguageGo, "/abs/x_test.go", "not a file path inside the workspace"},
		{LanguageGo, ".git/x_test.go", "inside .git, which belongs to git"},
		{LanguageGo, "sub/.git/hooks/x_test.go", "inside .git"},
		{LanguageGo, ".GIT/x_test.go", "inside .GIT"},
		{LanguageGo, ".handoff/x_test.go", "inside .handoff, which belongs to handoff"},
		{LanguagePython, ".handoff/tasks/test_x.py", "inside .handoff"},
		{LanguagePython, "conftest.py", "pytest's configuration file"},
		{LanguagePython, "tests/conftest.py", "pytest's configuration file"},
		{LanguageGo, "x.go", "not a go test file name"},
		{LanguagePython, "tests/helpers.py", "not a python test file name"},
		{LanguageGo, "tests/test_x.py", "not a go test file name"},
	} {
		err := CheckOutput(tc.lang, tc.output)
		if tc.want == "" {
			require.NoError(t, err, "%s %s", tc.lang, tc.output)
			continue
		}
		require.ErrorContains(t, err, tc.want, "%s %s", tc.lang, tc.output)
	}
}
