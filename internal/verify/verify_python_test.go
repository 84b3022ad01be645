package verify

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
)

// TestVerifyPythonFixtureAgent is the done-when scenario for Python: the
// same mix as for Go (a file that cannot be imported stands for a build
// failure), plus a bytecode cache the agent left behind.
func TestVerifyPythonFixtureAgent(t *testing.T) {
	t.Parallel()
	py := needPython(t)
	ctx := context.Background()
	ft := newFixtureTask(t, "testdata/python/module")
	// Measure runs the fixture's one good test under a bound no healthy run
	// reaches; how long it took calibrates the bound for Verify, which must
	// tell test_hang (sleeps an hour) from a good test slowed by a loaded
	// machine. A Python run is mostly interpreter, pytest and coverage.py
	// start-up, which a busy machine stretches from a second to many.
	o := Options{Dir: ft.dir, Module: "shapes/geometry.py", Threshold: 60, TestTimeout: 5 * time.Minute, Python: py, Log: testLog(t)}
	measureStart := time.Now()
	b, err := Measure(ctx, o)
	require.NoError(t, err)
	o.TestTimeout = max(10*time.Second, 5*time.Since(measureStart))
	t.Logf("one test run took %s; Verify's test timeout is %s", time.Since(measureStart).Round(time.Millisecond), o.TestTimeout)
	require.True(t, b.Passed, b.Error)
	require.Equal(t, []string{"tests/shapes/test_geometry.py::test_area_circle"}, b.PassedTests)
	require.NotNil(t, b.Branch)
	require.Empty(t, ft.changes(t), "Measure leaves no cache or coverage file behind")

	ft.agentWrites(t, "testdata/python/agent")
	ft.write(t, "tests/shapes/__pycache__/test_geometry_handoff.cpython-311.pyc", "bytecode")
	start := time.Now()
	r, err := Verify(ctx, Input{Options: o, Baseline: b, Changes: ft.changes(t), Restore: ft.restore})
	require.NoError(t, err)
	t.Logf("Python fixture verified in %s with %d test runs", time.Since(start).Round(time.Millisecond), r.Runs)

	const out = "tests/shapes/test_geometry_handoff.py"
	require.Equal(t, []string{out + "::test_classify_negative", out + "::TestRect::test_area"}, r.Kept)
	require.Equal(t, map[string]string{
		"shapes/geometry.py":                                   ReasonDisallowedChange,
		out + "::test_no_assert":                               ReasonNoAssertion,
		"tests/shapes/test_geometry_broken.py::test_perimeter": ReasonBuildFailed,
		out + "::test_clamp_wrong":                             ReasonFailed,
		out + "::test_hang":                                    ReasonTimeout,
		out + "::test_clamp_flaky":                             ReasonFlaky,
		out + "::test_area_again":                              ReasonNoCoverageGain,
	}, reasons(r))
	require.ElementsMatch(t, []string{"shapes/geometry.py", "tests/shapes/__pycache__/test_geometry_handoff.cpython-311.pyc"}, r.Rejected)
	require.Equal(t, string(ft.orig["shapes/geometry.py"]), ft.read(t, "shapes/geometry.py"), "the edited source file is restored")
	require.NoFileExists(t, filepath.Join(ft.dir, "tests/shapes/test_geometry_broken.py"), "a file with no kept test is removed")
	require.NoDirExists(t, filepath.Join(ft.dir, "tests/shapes/__pycache__"))
	require.Equal(t, handofftype.Funnel{Generated: 8, Built: 6, Passed: 4, Stable: 3, Improved: 2, Kept: 2}, r.Funnel)

	require.Len(t, r.Files, 1)
	require.Equal(t, string(r.Files[out]), ft.read(t, out))
	require.NotContains(t, string(r.Files[out]), "def test_hang")
	require.Contains(t, string(r.Files[out]), "class TestRect")

	// coverage.after is what coverage.py reports when the kept files run in
	// the directory.
	lines, branch := coveragePyReport(t, py, ft.dir, "shapes/geometry.py")
	require.InDelta(t, lines, r.Coverage.After, 1e-9)
	require.NotNil(t, r.Coverage.BranchAfter)
	require.InDelta(t, branch, *r.Coverage.BranchAfter, 1e-9)
	require.Greater(t, r.Coverage.After, r.Coverage.Before)
	require.True(t, r.Success, "%.1f%% ≥ 60%%", r.Coverage.After)
	fn := map[string]handofftype.FunctionDelta{}
	for _, f := range r.Functions {
		fn[f.Name] = f
	}
	require.Equal(t, handofftype.FunctionDelta{Name: "Rect.area", Before: 0, After: 100}, fn["Rect.area"])
	require.Equal(t, handofftype.FunctionDelta{Name: "area_circle", Before: 2.0 / 3 * 100, After: 2.0 / 3 * 100}, fn["area_circle"])
	require.Equal(t, 0.0, fn["clamp"].After)

	requireNoProcess(t, "sleep 3602")
}

// coveragePyReport runs the tests under coverage.py in dir as a user would
// and returns the module's line and branch coverage from its JSON report.
func coveragePyReport(t *testing.T, py, dir, module string) (lines, branch float64) {
	t.Helper()
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "coverage")
	jsonOut := filepath.Join(t.TempDir(), "coverage.json")
	env := []string{"COVERAGE_FILE=" + data, "PYTHONDONTWRITEBYTECODE=1"}
	// Failing tests are fine here: only the coverage data matters.
	_, _ = execCommandEnv(ctx, dir, env, py, "-m", "coverage", "run", "--branch", "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests")
	out, err := execCommandEnv(ctx, dir, env, py, "-m", "coverage", "json", "-o", jsonOut, "--include="+module)
	require.NoError(t, err, out)
	raw, err := os.ReadFile(jsonOut)
	require.NoError(t, err)
	var rep struct {
		Totals struct {
			CoveredLines    float64 `json:"covered_lines"`
			NumStatements   float64 `json:"num_statements"`
			CoveredBranches float64 `json:"covered_branches"`
			NumBranches     float64 `json:"num_branches"`
		} `json:"totals"`
	}
	require.NoError(t, json.Unmarshal(raw, &rep))
	tt := rep.Totals
	return 100 * tt.CoveredLines / tt.NumStatements, 100 * tt.CoveredBranches / tt.NumBranches
}
