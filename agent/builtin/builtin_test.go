package builtin_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/agenttest"
	"github.com/handoff-dev/handoff/agent/builtin"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	agenttest.Run(t, agenttest.Harness{
		New: func(t *testing.T) agent.Agent { return builtin.New(builtin.Config{}) },
		// The builtin agent reports progress as soon as it starts loading
		// the module, long before it is done: cancelling then must stop it.
		Slow: func(t *testing.T) agent.Agent { return builtin.New(builtin.Config{}) },
	})
}

// module is one package the generated tests are measured on.
type module struct {
	name    string
	src     string // directory to copy
	modPath string // go.mod to add; empty when src is a module
	module  string // task module, relative to the copy
	files   []string
}

// measuredModules are packages nobody on this project wrote tests for:
// small packages modelled on real-world code in testdata, and the packages
// of the example component.
func measuredModules(t *testing.T) []module {
	var mods []module
	for _, name := range []string{"semver", "checksum", "humanize", "kvparse", "algo"} {
		mods = append(mods, module{name: name, src: filepath.Join("testdata", name), modPath: "example.com/" + name,
			module: ".", files: []string{name + ".go"}})
	}
	example := filepath.Join("..", "..", "examples", "inventory")
	for _, name := range []string{"sku", "stock", "pricing", "orders", "report"} {
		if _, err := os.Stat(filepath.Join(example, name, name+".go")); err != nil {
			t.Fatalf("example package %s is missing: %v", name, err)
		}
		mods = append(mods, module{name: "inventory/" + name, src: example, module: name + "/" + name + ".go",
			files: []string{name + ".go"}})
	}
	return mods
}

// TestGeneratedTestsPassAndCover is the bar: on packages nobody here
// wrote tests for, the generated tests pass unchanged three times in a row,
// cover at least 80 % of the module's statements on average, and assert
// something in every case.
func TestGeneratedTestsPassAndCover(t *testing.T) {
	t.Parallel()
	type figure struct {
		coverage     float64
		tests, cases int
		took         time.Duration
	}
	var mu sync.Mutex
	figures := map[string]figure{}
	mods := measuredModules(t)
	t.Run("modules", func(t *testing.T) {
		for _, m := range mods {
			t.Run(m.name, func(t *testing.T) {
				t.Parallel()
				dir := copyModule(t, m.src, m.modPath)
				task, _ := newTask(dir, m.module, "")
				rep, src, took := generate(t, builtin.Config{}, task)
				tests, cases := requireAssertions(t, src)
				pkgDir := filepath.Join(dir, filepath.Dir(filepath.Join(dir, rep.Details["output"].(string)))[len(dir):])
				cov := goTestCover(t, pkgDir, nil, m.files...)
				require.InDelta(t, rep.Details["coverage_percent"], cov, 0.1,
					"the agent's own coverage figure must match go test's")
				mu.Lock()
				figures[m.name] = figure{coverage: cov, tests: tests, cases: cases, took: took}
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}
	names := make([]string, 0, len(figures))
	sum := 0.0
	for n, f := range figures {
		names = append(names, n)
		sum += f.coverage
	}
	sort.Strings(names)
	var table strings.Builder
	fmt.Fprintf(&table, "\n| module | tests | cases | coverage | generation time |\n|---|---|---|---|---|\n")
	for _, n := range names {
		f := figures[n]
		fmt.Fprintf(&table, "| %s | %d | %d | %.1f %% | %.1f s |\n", n, f.tests, f.cases, f.coverage, f.took.Seconds())
	}
	avg := sum / float64(len(figures))
	fmt.Fprintf(&table, "| average | | | %.1f %% | |\n", avg)
	t.Log(table.String())
	require.Len(t, figures, len(mods))
	require.GreaterOrEqual(t, avg, 80.0, "average coverage of the generated tests")
}

// TestDeterministic: the same source and seed give the same file, byte for
// byte.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	var files [2][]byte
	for i := range files {
		dir := copyModule(t, filepath.Join("testdata", "kvparse"), "example.com/kvparse")
		task, _ := newTask(dir, "kvparse.go", "kvparse_test.go")
		rep, src, _ := generate(t, builtin.Config{Seed: 7}, task)
		require.Equal(t, false, rep.Details["budget_exhausted"])
		files[i] = src
	}
	require.Equal(t, string(files[0]), string(files[1]))
}

// TestGeneratedTestsCatchChanges: the tests pin behaviour down, so a change
// of behaviour makes them fail.
func TestGeneratedTestsCatchChanges(t *testing.T) {
	t.Parallel()
	dir := copyModule(t, filepath.Join("testdata", "humanize"), "example.com/humanize")
	task, _ := newTask(dir, "humanize.go", "humanize_test.go")
	generate(t, builtin.Config{}, task)
	src := filepath.Join(dir, "humanize.go")
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	changed := strings.Replace(string(b), `suffix = "nd"`, `suffix = "th"`, 1)
	require.NotEqual(t, string(b), changed)
	require.NoError(t, os.WriteFile(src, []byte(changed), 0o644))
	cmd := exec.Command("go", "test", "-count=1", ".")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the generated tests missed a change of behaviour:\n%s", out)
	require.Contains(t, string(out), "--- FAIL: TestOrdinal/")
	require.Contains(t, string(out), `2nd"`, "the failure names the old behaviour")
}

// TestUnsupportedAreReported: functions the agent cannot drive are listed
// with the reason, and the ones it can are still tested.
func TestUnsupportedAreReported(t *testing.T) {
	t.Parallel()
	dir := copyModule(t, filepath.Join("testdata", "edgy"), "example.com/edgy")
	task, _ := newTask(dir, ".", "edgy_test.go")
	rep, src, _ := generate(t, builtin.Config{CallTimeout: 300 * time.Millisecond}, task)
	reasons := map[string]string{}
	for _, u := range rep.Unsupported {
		reasons[u.Name] = u.Reason
	}
	want := map[string]string{
		"Drain":        "takes a channel",
		"TotalArea":    "no type of the package implements",
		"Copy":         "io.Writer",
		"ReadConfig":   "calls os.ReadFile",
		"LoadDefaults": "calls os.Getenv (through loadDefaults)",
		"Exit":         "calls os.Exit",
		"Keys":         "generic",
		"Log":          "nothing to assert",
		"Ticker":       "returns a function",
		"Stamp":        "differ from run to run",
		"Next":         "",
	}
	for name, reason := range want {
		require.Contains(t, reasons, name)
		require.Contains(t, reasons[name], reason, "reason for %s", name)
	}
	require.Len(t, reasons, len(want), "unexpected unsupported functions: %v", reasons)
	for _, name := range []string{"TestApply", "TestClamp", "TestNewCounter", "TestCounter_Inc", "TestRoll", "TestSpin"} {
		require.Contains(t, string(src), "func "+name+"(")
	}
	require.NotContains(t, string(src), "TestStamp")
	require.NotContains(t, string(src), "TestNext")
	goTestCover(t, dir, nil, "edgy.go")
}

// TestRepairRound: tests and cases verification dropped are not written
// again, and the dropped functions are reported.
func TestRepairRound(t *testing.T) {
	t.Parallel()
	dir := copyModule(t, filepath.Join("testdata", "algo"), "example.com/algo")
	task, _ := newTask(dir, "algo.go", "algo_test.go")
	rep, first, _ := generate(t, builtin.Config{}, task)
	require.Contains(t, string(first), "func TestGCD(")
	require.Contains(t, string(first), `{name: "2", n: 2, want: true}`)
	tests := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	require.Equal(t, len(tests.FindAllString(string(first), -1)), rep.Details["added_tests"], "round 1 adds every test it writes")

	task.Round = 2
	task.Feedback = &agent.Feedback{Dropped: []agent.Dropped{
		{Name: "TestGCD", Reason: "no_coverage_gain"},
		{Name: "TestIsPrime/2", Reason: "flaky"},
	}}
	rep, second, _ := generate(t, builtin.Config{}, task)
	require.NotContains(t, string(second), "func TestGCD(")
	require.NotContains(t, string(second), `{name: "2", n: 2, want: true}`)
	require.Contains(t, string(second), "func TestIsPrime(")
	var gcd string
	for _, u := range rep.Unsupported {
		if u.Name == "GCD" {
			gcd = u.Reason
		}
	}
	require.Contains(t, gcd, "no_coverage_gain")
	goTestCover(t, dir, nil, "algo.go")

	// A round after verification kept all of it finds nothing new to add.
	task.Round = 3
	task.Feedback = &agent.Feedback{Dropped: task.Feedback.Dropped}
	for _, m := range tests.FindAllStringSubmatch(string(second), -1) {
		task.Feedback.Kept = append(task.Feedback.Kept, m[1])
	}
	rep, _, _ = generate(t, builtin.Config{}, task)
	require.Equal(t, 0, rep.Details["added_tests"], rep.Summary)
}

// TestBudget: the run ends near its budget even when exploration could go
// on, and says so.
func TestBudget(t *testing.T) {
	t.Parallel()
	dir := copyModule(t, filepath.Join("testdata", "edgy"), "example.com/edgy")
	task, _ := newTask(dir, "edgy.go", "edgy_test.go")
	budget := 4 * time.Second
	start := time.Now()
	// Spin hangs for negative input: every such call costs the whole call
	// timeout, so exploration cannot finish within the budget.
	rep, err := builtin.New(builtin.Config{Budget: budget, CallTimeout: 2 * time.Second}).Run(context.Background(), task)
	took := time.Since(start)
	require.Less(t, took, budget+3*time.Second, "the run overran its budget")
	if err != nil {
		require.ErrorContains(t, err, "HANDOFF_BUILTIN_BUDGET")
		return
	}
	require.Equal(t, true, rep.Details["budget_exhausted"], rep.Summary)
	require.Contains(t, rep.Summary, "time budget")
}

func TestRefusesOtherLanguages(t *testing.T) {
	t.Parallel()
	a := builtin.New(builtin.Config{})
	require.Equal(t, "builtin", a.Name())
	require.Equal(t, []string{"go"}, a.Languages())
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "calc.py"), []byte("def f(): pass\n"), 0o644))
	for _, task := range []*agent.Task{
		{Dir: dir, Module: "calc.py", Language: "python"},
		{Dir: dir, Module: "calc.py"},
	} {
		_, err := a.Run(context.Background(), task)
		require.True(t, errors.Is(err, agent.ErrUnsupportedLanguage), "%v", err)
	}
}

func TestBadTasks(t *testing.T) {
	t.Parallel()
	dir := copyModule(t, filepath.Join("testdata", "algo"), "example.com/algo")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mine_test.go"), []byte("package algo\n"), 0o644))
	a := builtin.New(builtin.Config{})
	tests := []struct {
		name, module, output, want string
	}{
		{"missing module", "nope.go", "", "no such file"},
		{"outside", "../x.go", "", "outside the task directory"},
		{"test file", "algo.go", "other/algo_test.go", "must be a _test.go file in the module's package directory"},
		{"not a test file", "algo.go", "algo2.go", "must be a _test.go file"},
		{"someone else's tests", "algo.go", "mine_test.go", "was not written by the builtin agent"},
	}
	for _, tt := range tests {
		task, _ := newTask(dir, tt.module, tt.output)
		_, err := a.Run(context.Background(), task)
		require.ErrorContains(t, err, tt.want, tt.name)
	}
}
