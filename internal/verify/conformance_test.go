package verify

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// conformance describes one toolchain's fixtures for the shared suite:
// a module, a test file with one test per role (pass, fail, skip,
// noassert) and a file with a test that never ends.
type conformance struct {
	language  string
	module    string // testdata directory of the module
	moduleRel string // the module, relative to it
	fixtures  string // testdata tree holding confFile and hangFile
	confFile  string
	hangFile  string
	hangProc  string // the command line of the process the hanging test starts, unique among the tests
	broken    string // a test file that parses but does not build or import
	badSyntax string // a test file that does not parse
	existing  string // name of the module's existing test
	// fn maps a role to the test function's name in confFile or hangFile.
	fn map[string]string
	// name makes a test name as the toolchain reports it.
	name func(file, fn string) string
	// userCoverage is the module's coverage as the language's own tools
	// report it with the files now in dir, as it prints (Go: "66.7%").
	userCoverage func(t *testing.T, dir string) string
	// format renders a toolchain figure the way userCoverage prints.
	format func(float64) string
}

// runToolchainConformance is the suite every toolchain passes.
func runToolchainConformance(t *testing.T, h conformance) {
	role := func(r string) string {
		file := h.confFile
		if r == "hang" {
			file = h.hangFile
		}
		return h.name(file, h.fn[r])
	}
	setup := func(t *testing.T, files ...string) (*session, *fixtureTask) {
		t.Helper()
		ft := newFixtureTask(t, h.module)
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(h.fixtures, f))
			require.NoError(t, err)
			ft.write(t, f, string(data))
		}
		o, err := Options{Dir: ft.dir, Module: h.moduleRel, Output: h.confFile, TestTimeout: 20 * time.Second, Log: testLog(t)}.normalize()
		require.NoError(t, err)
		s, err := newSession(o)
		require.NoError(t, err)
		t.Cleanup(s.close)
		require.NoError(t, s.tc.prepare(context.Background(), s))
		require.Equal(t, h.language, s.tc.language())
		s.scope = s.tc.scope(o, files)
		for _, r := range []string{"pass", "fail", "skip", "noassert", "hang"} {
			s.testFile[role(r)] = map[bool]string{true: h.hangFile, false: h.confFile}[r == "hang"]
		}
		return s, ft
	}
	ctx := context.Background()

	t.Run("parse", func(t *testing.T) {
		t.Parallel()
		s, ft := setup(t, h.confFile)
		src := ft.read(t, h.confFile)
		tests, err := s.tc.parse(ctx, s, h.confFile, []byte(src))
		require.NoError(t, err)
		require.Equal(t, []string{role("pass"), role("fail"), role("skip"), role("noassert")}, testNames(tests))
		asserts := map[string]bool{}
		lines := strings.Split(src, "\n")
		for _, tf := range tests {
			asserts[tf.Name] = tf.Assert
			require.Equal(t, h.confFile, tf.File)
			body := strings.Join(lines[tf.Start-1:tf.End], "\n")
			require.Contains(t, body, " "+h.fn[roleOf(h, tf.Name, role)]+"(", "lines %d-%d hold the function", tf.Start, tf.End)
		}
		require.Equal(t, map[string]bool{role("pass"): true, role("fail"): true, role("skip"): false, role("noassert"): false}, asserts)

		_, err = s.tc.parse(ctx, s, "bad", []byte(h.badSyntax))
		_, isParseErr := asParseError(err)
		require.True(t, isParseErr, "a file that does not parse is a parse error, not %v", err)
	})

	t.Run("remove", func(t *testing.T) {
		t.Parallel()
		s, ft := setup(t, h.confFile)
		out, err := s.tc.remove(ctx, s, h.confFile, []byte(ft.read(t, h.confFile)), []string{role("fail"), role("skip"), role("noassert")})
		require.NoError(t, err)
		tests, err := s.tc.parse(ctx, s, h.confFile, out)
		require.NoError(t, err)
		require.Equal(t, []string{role("pass")}, testNames(tests))
		// What is left still builds and runs: imports only removed tests
		// used are gone too.
		ft.write(t, h.confFile, string(out))
		res, err := s.tc.suite(ctx, s, selection{})
		require.NoError(t, err)
		require.False(t, res.BuildFailed, res.BuildOutput)
		require.Equal(t, statusPass, res.Tests[role("pass")].Status)
		require.NotContains(t, res.Tests, role("fail"))
	})

	t.Run("suite", func(t *testing.T) {
		t.Parallel()
		s, ft := setup(t, h.confFile)
		res, err := s.tc.suite(ctx, s, selection{})
		require.NoError(t, err)
		require.False(t, res.BuildFailed, res.BuildOutput)
		require.False(t, res.Aborted)
		require.Equal(t, statusPass, res.Tests[role("pass")].Status)
		require.Equal(t, statusFail, res.Tests[role("fail")].Status)
		require.Contains(t, res.Tests[role("fail")].Output, "5")
		require.Equal(t, statusSkip, res.Tests[role("skip")].Status)
		require.Equal(t, statusPass, res.Tests[role("noassert")].Status)
		require.Equal(t, statusPass, res.Tests[h.existing].Status)
		require.NotNil(t, res.Coverage)
		require.NotEmpty(t, res.Coverage.Functions)
		require.NotEmpty(t, res.Coverage.Covered)
		require.Equal(t, h.userCoverage(t, ft.dir), h.format(res.Coverage.Percent), "the module's coverage is what the language's tools report")

		// Again with the same files (Go: with the test binary the first run
		// kept): the same verdicts and coverage.
		again, err := s.tc.suite(ctx, s, selection{})
		require.NoError(t, err)
		require.Equal(t, outcomesOf(res), outcomesOf(again))
		require.Equal(t, res.Coverage.Percent, again.Coverage.Percent)
		require.Equal(t, res.Coverage.Covered, again.Coverage.Covered)

		res, err = s.tc.suite(ctx, s, selection{Skip: []string{role("fail"), role("skip")}})
		require.NoError(t, err)
		require.NotContains(t, res.Tests, role("fail"), "skipped tests do not run")
		require.NotContains(t, res.Tests, role("skip"))
		require.Equal(t, statusPass, res.Tests[role("pass")].Status)
	})

	t.Run("perTest", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, h.confFile)
		res, err := s.tc.suite(ctx, s, selection{})
		require.NoError(t, err)
		ghost := h.name(h.confFile, h.fn["pass"]+"Ghost")
		s.testFile[ghost] = h.confFile
		units, failed, err := s.tc.perTest(ctx, s, res, []string{role("pass"), role("noassert"), ghost})
		require.NoError(t, err)
		require.NotEmpty(t, units[role("pass")])
		require.NotEmpty(t, units[role("noassert")])
		require.NotEqual(t, units[role("pass")], units[role("noassert")], "each test's own coverage")
		for u := range units[role("pass")] {
			require.Contains(t, res.Coverage.Covered, u)
		}
		require.True(t, len(units[ghost]) == 0 || failed[ghost] != "", "a test that matches nothing covers nothing and does not pass")
		require.Empty(t, failed[role("pass")])
	})

	t.Run("build failure", func(t *testing.T) {
		t.Parallel()
		s, ft := setup(t, h.confFile)
		// The fixture is stored as .txt so that no tool builds it in place.
		data, err := os.ReadFile(filepath.Join(h.fixtures, path.Dir(h.confFile), h.broken))
		require.NoError(t, err)
		broken := path.Join(path.Dir(h.confFile), strings.TrimSuffix(h.broken, ".txt"))
		ft.write(t, broken, string(data))
		s.scope = s.tc.scope(s.o, []string{h.confFile, broken})
		res, err := s.tc.suite(ctx, s, selection{})
		require.NoError(t, err)
		require.True(t, res.BuildFailed)
		var files []string
		for _, is := range res.Build {
			files = append(files, is.File)
		}
		require.Contains(t, files, broken, "the error points at the broken file: %s", res.BuildOutput)
	})

	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, h.confFile, h.hangFile)
		s.o.TestTimeout = 5 * time.Second
		start := time.Now()
		res, err := s.tc.suite(ctx, s, selection{Skip: []string{role("fail")}})
		require.NoError(t, err)
		require.True(t, res.Aborted)
		require.Equal(t, statusTimeout, res.Tests[role("hang")].Status)
		require.Less(t, time.Since(start), s.o.TestTimeout+goBuildAllowance)
		requireNoProcess(t, h.hangProc)
	})
}

func outcomesOf(res *suiteResult) map[string]status {
	m := map[string]status{}
	for n, o := range res.Tests {
		m[n] = o.Status
	}
	return m
}

// roleOf finds the role of a test name.
func roleOf(h conformance, name string, role func(string) string) string {
	for r := range h.fn {
		if role(r) == name {
			return r
		}
	}
	return ""
}

func TestGoToolchainConformance(t *testing.T) {
	t.Parallel()
	needGo(t)
	runToolchainConformance(t, conformance{
		language:  LanguageGo,
		module:    "testdata/go/module",
		moduleRel: "calc/calc.go",
		fixtures:  "testdata/conformance/go",
		confFile:  "calc/conf_test.go",
		hangFile:  "calc/hang_test.go",
		hangProc:  "sleep 3604",
		broken:    "broken_test.go.txt",
		badSyntax: "package calc\n\nfunc TestX(t *testing.T {\n",
		existing:  "TestAdd",
		fn:        map[string]string{"pass": "TestPass", "fail": "TestFail", "skip": "TestSkip", "noassert": "TestNoAssert", "hang": "TestHang"},
		name:      func(_, fn string) string { return fn },
		userCoverage: func(t *testing.T, dir string) string {
			return goCoverFuncTotal(t, dir, "example.com/calc/calc", "calc.go")
		},
		format: func(p float64) string { return fmt.Sprintf("%.1f%%", p) },
	})
}

func TestPythonToolchainConformance(t *testing.T) {
	t.Parallel()
	py := needPython(t)
	runToolchainConformance(t, conformance{
		language:  LanguagePython,
		module:    "testdata/python/module",
		moduleRel: "shapes/geometry.py",
		fixtures:  "testdata/conformance/python",
		confFile:  "tests/shapes/test_conf.py",
		hangFile:  "tests/shapes/test_hang.py",
		hangProc:  "sleep 3605",
		broken:    "test_broken.py.txt",
		badSyntax: "def test_x(:\n    pass\n",
		existing:  "tests/shapes/test_geometry.py::test_area_circle",
		fn:        map[string]string{"pass": "test_pass", "fail": "test_fail", "skip": "test_skip", "noassert": "test_no_assert", "hang": "test_hang"},
		name:      func(file, fn string) string { return file + "::" + fn },
		userCoverage: func(t *testing.T, dir string) string {
			lines, _ := coveragePyReport(t, py, dir, "shapes/geometry.py")
			return fmt.Sprintf("%.9f", lines)
		},
		format: func(p float64) string { return fmt.Sprintf("%.9f", p) },
	})
}
