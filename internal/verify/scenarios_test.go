package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scenario runs Measure, lets the fixture agent of testdata/scenarios/<name>
// write its files, and runs Verify.
func scenario(t *testing.T, module, name, target string) (*fixtureTask, *Baseline, *Report) {
	t.Helper()
	var py string
	if strings.HasSuffix(target, ".py") {
		py = needPython(t)
	} else {
		needGo(t)
	}
	ctx := context.Background()
	var overlays []string
	if _, err := os.Stat(filepath.Join("testdata/scenarios", name, "snapshot")); err == nil {
		overlays = append(overlays, filepath.Join("testdata/scenarios", name, "snapshot"))
	}
	ft := newFixtureTask(t, module, overlays...)
	o := Options{Dir: ft.dir, Module: target, TestTimeout: 20 * time.Second, Python: py, Log: testLog(t)}
	b, err := Measure(ctx, o)
	require.NoError(t, err)
	ft.agentWrites(t, filepath.Join("testdata/scenarios", name, "agent"))
	r, err := Verify(ctx, Input{Options: o, Baseline: b, Changes: ft.changes(t), Restore: ft.restore})
	require.NoError(t, err)
	return ft, b, r
}

// A red baseline is reported, and only the generated tests are judged.
func TestVerifyRedBaseline(t *testing.T) {
	t.Parallel()
	_, b, r := scenario(t, "testdata/go/module", "red", "calc/calc.go")
	require.False(t, b.Passed)
	require.Equal(t, []string{"TestRed"}, b.FailedTests)
	require.Contains(t, b.Error, "TestRed")
	require.Equal(t, []string{"TestAbsNegative"}, r.Kept)
	require.Empty(t, r.Dropped)
	require.True(t, r.Success)
}

// Python: an existing test file that cannot be imported makes the baseline
// red and is not held against the generated tests; a conftest.py the agent
// wrote beside them is kept with them.
func TestVerifyPythonRedBaselineAndConftest(t *testing.T) {
	t.Parallel()
	ft, b, r := scenario(t, "testdata/python/module", "pyred", "shapes/geometry.py")
	require.False(t, b.Passed)
	require.Equal(t, []string{"tests/shapes/test_legacy.py"}, b.BrokenFiles)
	require.Equal(t, []string{"tests/shapes/test_geometry_handoff.py::test_rect_area"}, r.Kept)
	require.Empty(t, r.Dropped)
	require.Len(t, r.Files, 2)
	require.Equal(t, ft.read(t, "tests/shapes/conftest.py"), string(r.Files["tests/shapes/conftest.py"]))
	require.Greater(t, r.Coverage.After, r.Coverage.Before)
}

// A Go package directory as the module: all its files count.
func TestVerifyGoPackageModule(t *testing.T) {
	t.Parallel()
	needGo(t)
	ctx := context.Background()
	ft := newFixtureTask(t, "testdata/go/module")
	o := Options{Dir: ft.dir, Module: "calc", Output: "calc/calc_handoff_test.go", Threshold: 80, Log: testLog(t)}
	b, err := Measure(ctx, o)
	require.NoError(t, err)
	require.InDelta(t, 100.0/15, b.Coverage, 1e-9, "Add: 1 of the 15 statements of calc.go and extra.go")
	ft.agentWrites(t, "testdata/bench/go")
	r, err := Verify(ctx, Input{Options: o, Baseline: b, Changes: ft.changes(t), Restore: ft.restore})
	require.NoError(t, err)
	require.Equal(t, []string{"TestAbsNegative", "TestAbsPositive", "TestClamp", "TestDiv"}, r.Kept)
	require.InDelta(t, 80.0, r.Coverage.After, 1e-9, "all of calc.go, none of extra.go")
	require.Equal(t, "80.0%", goCoverFuncTotal(t, ft.dir, "example.com/calc/calc", ""))
	require.True(t, r.Success)
	names := map[string]float64{}
	for _, f := range r.Functions {
		names[f.Name] = f.After
	}
	require.Equal(t, map[string]float64{"Add": 100, "Abs": 100, "Clamp": 100, "Div": 100, "Twice": 0}, names)
}

// A test that makes an existing test fail is found by bisection and dropped
// alone.
func TestVerifyBreaksSuite(t *testing.T) {
	t.Parallel()
	ft, _, r := scenario(t, "testdata/go/module", "breaks", "calc/calc.go")
	require.Equal(t, []string{"TestAbsNegative"}, r.Kept)
	require.Equal(t, map[string]string{"TestDivMutates": ReasonBreaksSuite}, reasons(r))
	require.Contains(t, r.Dropped[0].Excerpt, "TestErrText")
	require.NotContains(t, ft.read(t, "calc/calc_handoff_test.go"), "TestDivMutates")
	require.NotContains(t, ft.read(t, "calc/calc_handoff_test.go"), `"errors"`)
}

// A test that creates, changes or deletes files in the task directory and
// does not clean up is dropped, the paths named; what it did is undone. The
// marker test passes every single run here, since each run starts clean,
// and would fail the user's second go test. A test that cleans up after
// itself is kept.
func TestVerifyRuntimeWrites(t *testing.T) {
	t.Parallel()
	ft, _, r := scenario(t, "testdata/go/module", "dirt", "calc/calc.go")
	require.Equal(t, []string{"TestAbsNegative", "TestCleansUp"}, r.Kept)
	require.Equal(t, map[string]string{"TestRewritesSource": ReasonLeavesFiles, "TestWritesJunk": ReasonLeavesFiles,
		"TestMarker": ReasonLeavesFiles}, reasons(r))
	for _, d := range r.Dropped {
		require.Contains(t, d.Excerpt, "t.TempDir()")
		switch d.Name {
		case "TestRewritesSource":
			require.Contains(t, d.Excerpt, "calc/calc.go (changed)")
		case "TestMarker":
			require.Contains(t, d.Excerpt, "calc/marker (created)")
		}
	}
	require.Contains(t, r.Feedback.Text, "TestMarker: leaves_files")
	require.Equal(t, string(ft.orig["calc/calc.go"]), ft.read(t, "calc/calc.go"))
	for _, f := range []string{"calc/junk.txt", "calc/marker", "calc/tidy.txt"} {
		require.NoFileExists(t, filepath.Join(ft.dir, f))
	}
	// The kept tests pass twice in a row where they are applied.
	out, err := execCommand(context.Background(), filepath.Join(ft.dir, "calc"), "go", "test", "-count=2", ".")
	require.NoError(t, err, out)
}

// Tests already in the output file are not judged, and stay.
func TestVerifyExistingOutput(t *testing.T) {
	t.Parallel()
	ft, b, r := scenario(t, "testdata/go/module", "existing", "calc/calc.go")
	require.True(t, b.OutputExisted)
	require.Equal(t, []string{"TestOld"}, b.OutputTests)
	require.Equal(t, []string{"TestAbsNegative"}, r.Kept)
	require.Equal(t, map[string]string{"TestClampWrong": ReasonFailed}, reasons(r))
	require.Equal(t, 2, r.Funnel.Generated)
	out := string(r.Files["calc/calc_handoff_test.go"])
	require.Contains(t, out, "func TestOld(")
	require.Contains(t, out, "func TestAbsNegative(")
	require.Equal(t, out, ft.read(t, "calc/calc_handoff_test.go"))
}

// Changes outside the output area are undone without running anything.
func TestVerifyDisallowedPaths(t *testing.T) {
	t.Parallel()
	ft, _, r := scenario(t, "testdata/go/module", "paths", "calc/calc.go")
	require.NoError(t, os.Remove(filepath.Join(ft.dir, "calc/extra.go"))) // after Verify: check a deletion too
	r2, err := Verify(context.Background(), Input{
		Options:  Options{Dir: ft.dir, Module: "calc/calc.go", Log: testLog(t)},
		Baseline: &Baseline{Passed: true},
		Changes:  ft.changes(t),
		Restore:  ft.restore,
	})
	require.NoError(t, err)
	require.Equal(t, map[string]string{
		"calc/calc_test.go":   ReasonDisallowedChange,
		"go.mod":              ReasonDisallowedChange,
		"other/other_test.go": ReasonDisallowedChange,
	}, reasons(r))
	require.Equal(t, map[string]string{"calc/extra.go": ReasonDisallowedChange}, reasons(r2))
	require.Equal(t, 2, r.Funnel.Generated, "test files count as generated, go.mod does not")
	require.Zero(t, r.Runs, "nothing left to run")
	require.Empty(t, r.Kept)
	require.False(t, r.Success)
	for rel, data := range ft.orig {
		require.Equal(t, string(data), ft.read(t, rel), rel)
	}
	require.NoDirExists(t, filepath.Join(ft.dir, "other/other_test.go"))
}

// A module with requirements: they are downloaded outside the sandbox and
// the tests run offline.
func TestVerifyModuleRequirements(t *testing.T) {
	t.Parallel()
	_, b, r := scenario(t, "testdata/go/deps", "deps", "greet/greet.go")
	require.True(t, b.Passed, b.Error)
	require.Equal(t, 200.0/3, b.Coverage, "two of Hello's three statements")
	require.Equal(t, []string{"TestHelloName"}, r.Kept)
	require.Equal(t, 100.0, r.Coverage.After)
}

// Recheck keeps the tests that still pass against the workspace as it is
// now, and re-drops the others.
func TestRecheck(t *testing.T) {
	t.Parallel()
	needGo(t)
	ctx := context.Background()
	src, err := os.ReadFile("testdata/go/agent/calc/calc_handoff_test.go")
	require.NoError(t, err)
	kept, err := removeGoTests("calc/calc_handoff_test.go", src, []string{"TestAddAgain", "TestClampWrong", "TestAbsNoAssert", "TestMul", "TestHang", "TestClampFlaky"})
	require.NoError(t, err)
	files := map[string][]byte{"calc/calc_handoff_test.go": kept}

	t.Run("unchanged", func(t *testing.T) {
		t.Parallel()
		ft := newFixtureTask(t, "testdata/go/module")
		out, redropped, err := Recheck(ctx, Options{Dir: ft.dir, Module: "calc/calc.go", Log: testLog(t)}, files)
		require.NoError(t, err)
		require.Empty(t, redropped)
		require.Equal(t, files, out)
	})
	t.Run("moved", func(t *testing.T) {
		t.Parallel()
		ft := newFixtureTask(t, "testdata/go/module", "testdata/scenarios/moved/snapshot")
		out, redropped, err := Recheck(ctx, Options{Dir: ft.dir, Module: "calc/calc.go", Log: testLog(t)}, files)
		require.NoError(t, err)
		require.Equal(t, []string{"TestAbsNegative"}, redropped)
		tests, err := parseGoTests("x_test.go", out["calc/calc_handoff_test.go"])
		require.NoError(t, err)
		require.Equal(t, []string{"TestDivByZero"}, testNames(tests))
	})
}

// When the existing tests already reach the threshold, a verification that
// keeps nothing (the agent's test adds nothing) is still a success: there
// was nothing to add. A zero threshold sets no target: only a kept test
// succeeds then.
func TestVerifyThresholdAlreadyMet(t *testing.T) {
	t.Parallel()
	needGo(t)
	for _, tc := range []struct {
		threshold float64
		success   bool
	}{{5, true}, {0, false}, {50, false}} {
		ctx := context.Background()
		ft := newFixtureTask(t, "testdata/go/module")
		o := Options{Dir: ft.dir, Module: "calc", Output: "calc/calc_handoff_test.go", Threshold: tc.threshold, Log: testLog(t)}
		b, err := Measure(ctx, o)
		require.NoError(t, err)
		require.InDelta(t, 100.0/15, b.Coverage, 1e-9)
		ft.write(t, "calc/calc_handoff_test.go", "package calc\n\nimport \"testing\"\n\nfunc TestAddAgain(t *testing.T) {\n\tif Add(2, 2) != 4 {\n\t\tt.Fatal(\"Add(2, 2) is not 4\")\n\t}\n}\n")
		r, err := Verify(ctx, Input{Options: o, Baseline: b, Changes: ft.changes(t), Restore: ft.restore})
		require.NoError(t, err)
		require.Empty(t, r.Kept)
		require.Equal(t, ReasonNoCoverageGain, reasons(r)["TestAddAgain"])
		require.Equal(t, tc.success, r.Success, "threshold %g", tc.threshold)
		require.Equal(t, tc.success, AlreadyMet(b, tc.threshold))
	}
}
