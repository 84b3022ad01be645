package verify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
)

// TestVerifyGoFixtureAgent is the done-when scenario for Go: a fixture
// agent writes good, failing, flaky, assertion-free, non-compiling and
// never-ending tests and edits the source file; only the good ones are kept.
func TestVerifyGoFixtureAgent(t *testing.T) {
	t.Parallel()
	needGo(t)
	ctx := context.Background()
	ft := newFixtureTask(t, "testdata/go/module")
	o := Options{Dir: ft.dir, Module: "calc/calc.go", Threshold: 40, TestTimeout: 3 * time.Second, Log: testLog(t)}

	b, err := Measure(ctx, o)
	require.NoError(t, err)
	require.True(t, b.Passed, b.Error)
	require.InDelta(t, 100.0/12, b.Coverage, 1e-9, "TestAdd covers Add: 1 of calc.go's 12 statements (extra.go does not count)")
	require.Equal(t, []string{"TestAdd"}, b.PassedTests)
	require.Empty(t, b.Touched)
	require.Empty(t, (&fixtureTask{dir: ft.dir, orig: ft.orig}).changes(t), "Measure leaves the task directory as it found it")

	ft.agentWrites(t, "testdata/go/agent")
	start := time.Now()
	r, err := Verify(ctx, Input{Options: o, Baseline: b, Changes: ft.changes(t), Restore: ft.restore})
	require.NoError(t, err)
	t.Logf("Go fixture verified in %s with %d test runs", time.Since(start).Round(time.Millisecond), r.Runs)

	require.Equal(t, []string{"TestAbsNegative", "TestDivByZero"}, r.Kept)
	require.Equal(t, map[string]string{
		"calc/calc.go":    ReasonDisallowedChange,
		"TestAbsNoAssert": ReasonNoAssertion,
		"TestMul":         ReasonBuildFailed,
		"TestClampWrong":  ReasonFailed,
		"TestHang":        ReasonTimeout,
		"TestClampFlaky":  ReasonFlaky,
		"TestAddAgain":    ReasonNoCoverageGain,
	}, reasons(r))
	require.Equal(t, []string{"calc/calc.go"}, r.Rejected)
	require.Equal(t, string(ft.orig["calc/calc.go"]), ft.read(t, "calc/calc.go"), "the edited source file is restored")
	require.Equal(t, handofftype.Funnel{Generated: 8, Built: 6, Passed: 4, Stable: 3, Improved: 2, Kept: 2}, r.Funnel)

	// The files hold exactly the kept tests, and the task directory too.
	require.Len(t, r.Files, 1)
	out := r.Files["calc/calc_handoff_test.go"]
	require.Equal(t, string(out), ft.read(t, "calc/calc_handoff_test.go"))
	tests, err := parseGoTests("calc/calc_handoff_test.go", out)
	require.NoError(t, err)
	require.Equal(t, []string{"TestAbsNegative", "TestDivByZero"}, testNames(tests))
	require.NotContains(t, string(out), `"os/exec"`, "imports only dropped tests used are gone")

	// Coverage: Add, Abs minus its positive return, Div minus its division:
	// 5 of 12 statements, as go tool cover -func reports in the directory.
	require.InDelta(t, 500.0/12, r.Coverage.After, 1e-9)
	require.Equal(t, fmt.Sprintf("%.1f%%", r.Coverage.After), goCoverFuncTotal(t, ft.dir, "example.com/calc/calc", "calc.go"))
	require.Equal(t, 100.0/12, r.Coverage.Before)
	require.True(t, r.Success)
	require.Contains(t, []string{"bwrap", "pid-namespace", "process-group"}, r.Containment)
	require.Equal(t, []handofftype.FunctionDelta{
		{Name: "Add", Before: 100, After: 100},
		{Name: "Abs", Before: 0, After: 200.0 / 3},
		{Name: "Clamp", Before: 0, After: 0},
		{Name: "Div", Before: 0, After: 200.0 / 3},
	}, r.Functions)
	require.NotNil(t, r.Feedback)
	require.Contains(t, r.Feedback.Text, "TestClampWrong: failed")
	require.Equal(t, "Clamp", r.Feedback.Uncovered[0].Name)

	requireNoProcess(t, "sleep 3601")
}

// goCoverFuncTotal measures a module file's coverage as a user would: go
// test with -coverpkg in the directory, the profile cut to the file (all of
// the package for file ""), and the total line of go tool cover -func.
func goCoverFuncTotal(t *testing.T, dir, pkg, file string) string {
	t.Helper()
	ctx := context.Background()
	prof := filepath.Join(t.TempDir(), "cover.out")
	// Failing tests are fine here: only the profile matters.
	out, _ := execCommand(ctx, dir, "go", "test", "-count=1", "-coverpkg="+pkg, "-coverprofile="+prof, "./"+strings.TrimPrefix(pkg, "example.com/calc/"))
	data, err := os.ReadFile(prof)
	require.NoError(t, err, out)
	var keep []string
	for i, l := range strings.Split(string(data), "\n") {
		if i == 0 || strings.HasPrefix(l, pkg+"/"+file) && (file == "" || strings.HasPrefix(l, pkg+"/"+file+":")) {
			keep = append(keep, l)
		}
	}
	cut := filepath.Join(t.TempDir(), "cut.out")
	require.NoError(t, os.WriteFile(cut, []byte(strings.Join(keep, "\n")+"\n"), 0o644))
	out, err = execCommand(ctx, dir, "go", "tool", "cover", "-func="+cut)
	require.NoError(t, err, out)
	m := regexp.MustCompile(`total:\s+\(statements\)\s+(\S+)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	return m[1]
}

func testNames(tests []testFunc) []string {
	var out []string
	for _, tf := range tests {
		out = append(out, tf.Name)
	}
	return out
}

// requireNoProcess waits until no process has cmdline containing marker.
func requireNoProcess(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := processesWith(marker)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v (%q) outlived their test run", pids, marker)
		}
		time.Sleep(50 * time.Millisecond) // polling the process table, with a deadline
	}
}

// processesWith lists the pids whose command line contains marker.
func processesWith(marker string) []string {
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(strings.ReplaceAll(string(data), "\x00", " "), marker) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}
