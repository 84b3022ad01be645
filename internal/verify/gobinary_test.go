package verify

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
)

// After the first go test run, stability and bisection runs execute the
// kept test binaries directly, without the go command (go tool test2json)
// in between, and reach the same verdicts: a flaky test is dropped as
// flaky, one that breaks existing tests under the shuffled order as
// breaks_suite.
func TestVerifyGoKeptBinariesRunDirectly(t *testing.T) {
	t.Parallel()
	needGo(t)

	t.Run("good", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		ft := newFixtureTask(t, "testdata/go/module")
		o := Options{Dir: ft.dir, Module: "calc/calc.go", Log: testLog(t)}
		b, err := Measure(ctx, o)
		require.NoError(t, err)
		ft.agentWrites(t, "testdata/bench/go")
		r, err := Verify(ctx, Input{Options: o, Baseline: b, Changes: ft.changes(t), Restore: ft.restore})
		require.NoError(t, err)
		require.Len(t, r.Kept, 4, "dropped: %v", r.Dropped)
		requireNoGoTest2json(t, r.Commands)

		goTests, stability := 0, 0
		for _, c := range r.Commands {
			switch {
			case strings.HasPrefix(c.Command, "go test "):
				goTests++
				require.NotContains(t, c.Command, "-shuffle=", "the first run is in file order")
			case strings.Contains(c.Command, " -test.shuffle="):
				stability++
				requireKeptBinaryRun(t, c)
			}
		}
		require.Equal(t, 1, goTests, "one go test run builds the binaries: %v", r.Commands)
		require.Equal(t, 2, stability, "Runs-1 stability runs of the kept binary: %v", r.Commands)
		require.Equal(t, 7, r.Runs, "1 go test run, 2 stability runs, 4 single-test runs")
	})

	t.Run("flaky", func(t *testing.T) {
		t.Parallel()
		_, _, r := scenario(t, "testdata/go/module", "flaky", "calc/calc.go")
		require.Equal(t, []string{"TestAbsNegative"}, r.Kept)
		require.Equal(t, map[string]string{"TestClampFlaky": ReasonFlaky}, reasons(r))
		require.Contains(t, r.Dropped[0].Excerpt, "passed in run 1 but not in run 2")
		requireNoGoTest2json(t, r.Commands)
		// Run 2, which caught it, is the first shuffled run: the kept binary.
		for _, c := range r.Commands {
			if strings.Contains(c.Command, "shuffle=") {
				requireKeptBinaryRun(t, c)
				require.NotZero(t, c.ExitCode, "the run where the flaky test failed")
				break
			}
		}
	})

	t.Run("shuffled order", func(t *testing.T) {
		t.Parallel()
		_, b, r := scenario(t, "testdata/go/module", "shuffle", "calc/calc.go")
		require.True(t, b.Passed, b.Error)
		require.Equal(t, []string{"TestAbsNegative"}, r.Kept)
		require.Equal(t, map[string]string{"TestDivShuffled": ReasonBreaksSuite}, reasons(r))
		require.Contains(t, r.Dropped[0].Excerpt, "in run 2 (order shuffled with -shuffle=")
		require.Contains(t, r.Dropped[0].Excerpt, "TestErrTextParallel")
		requireNoGoTest2json(t, r.Commands)
		// The bisection ran the kept binary with the same seed, skipping
		// suspects.
		bisection := 0
		for _, c := range r.Commands {
			if strings.Contains(c.Command, "-test.skip=") && strings.Contains(c.Command, " -test.shuffle=") {
				requireKeptBinaryRun(t, c)
				bisection++
			}
		}
		require.GreaterOrEqual(t, bisection, 3, "none, all, then halves: %v", r.Commands)
	})
}

func requireNoGoTest2json(t *testing.T, cmds []handofftype.CommandRun) {
	t.Helper()
	for _, c := range cmds {
		require.NotContains(t, c.Command, "go tool test2json")
		require.False(t, strings.HasPrefix(c.Command, "go tool "), "no go tool run: %s", c.Command)
	}
}

// requireKeptBinaryRun checks that c ran a kept test binary itself, the way
// go test -json would.
func requireKeptBinaryRun(t *testing.T, c handofftype.CommandRun) {
	t.Helper()
	bin, _, _ := strings.Cut(c.Command, " ")
	require.True(t, filepath.IsAbs(bin), "a kept binary, not the go command: %s", c.Command)
	require.Contains(t, c.Command, " -test.v=test2json ")
	require.Contains(t, c.Command, " -test.coverprofile=")
	require.Contains(t, c.Command, " -test.paniconexit0 ")
}
