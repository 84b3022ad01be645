package verify

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/handofftype"
)

// Within one process, go env GOCACHE and go list are asked once: a Verify
// after a Measure of the same module (in another copy, as the engine makes
// them) runs neither. A package whose files differ is listed again, and a
// module under a go.work is listed every time.
func TestGoFactsAskedOncePerProcess(t *testing.T) {
	t.Parallel()
	needGo(t)
	ctx := context.Background()

	t.Run("reused", func(t *testing.T) {
		t.Parallel()
		base := newFixtureTask(t, "testdata/go/module")
		b, err := Measure(ctx, Options{Dir: base.dir, Module: "calc/calc.go", Log: testLog(t)})
		require.NoError(t, err)
		ft := newFixtureTask(t, "testdata/go/module")
		ft.agentWrites(t, "testdata/bench/go")
		log := testLog(t)
		r, err := Verify(ctx, Input{Options: Options{Dir: ft.dir, Module: "calc/calc.go", Log: log}, Baseline: b, Changes: ft.changes(t), Restore: ft.restore})
		require.NoError(t, err)
		require.Len(t, r.Kept, 4)
		require.Empty(t, goCommands(r.Commands, "go env", "go list"), "both known from Measure")
		require.Contains(t, log.String(), "go list ./calc: unchanged since an earlier call in this process (example.com/calc/calc)")
		require.Contains(t, log.String(), "go env answered it before in this process")
	})

	t.Run("package changed", func(t *testing.T) {
		t.Parallel()
		first := newFixtureTask(t, "testdata/go/module")
		b, err := Measure(ctx, Options{Dir: first.dir, Module: "calc", Output: "calc/calc_handoff_test.go", Log: testLog(t)})
		require.NoError(t, err)
		require.InDelta(t, 100.0/15, b.Coverage, 1e-9)

		// The same package with one more file, unique to this run.
		ft := newFixtureTask(t, "testdata/go/module")
		ft.write(t, "calc/more.go", "package calc\n\n// "+ft.dir+"\n\n// Neg returns -a.\nfunc Neg(a int) int {\n\tif a == 0 {\n\t\treturn 0\n\t}\n\treturn -a\n}\n")
		b, err = Measure(ctx, Options{Dir: ft.dir, Module: "calc", Output: "calc/calc_handoff_test.go", Log: testLog(t)})
		require.NoError(t, err)
		require.Len(t, goCommands(b.Commands, "go list"), 1, "a new file: listed again")
		require.InDelta(t, 100.0/18, b.Coverage, 1e-9, "Add: 1 of the 18 statements of calc.go, extra.go and more.go")

		// A build constraint that leaves extra.go out.
		ft = newFixtureTask(t, "testdata/go/module")
		ft.write(t, "calc/extra.go", "//go:build ignore\n\n// "+ft.dir+"\n\n"+ft.read(t, "calc/extra.go"))
		b, err = Measure(ctx, Options{Dir: ft.dir, Module: "calc", Output: "calc/calc_handoff_test.go", Log: testLog(t)})
		require.NoError(t, err)
		require.Len(t, goCommands(b.Commands, "go list"), 1)
		require.InDelta(t, 100.0/12, b.Coverage, 1e-9, "extra.go is not built")
	})

	t.Run("go.work", func(t *testing.T) {
		t.Parallel()
		for range 2 {
			ft := newFixtureTask(t, "testdata/go/module")
			ft.write(t, "go.work", "go 1.22\n\nuse .\n")
			b, err := Measure(ctx, Options{Dir: ft.dir, Module: "calc/calc.go", Log: testLog(t)})
			require.NoError(t, err)
			require.True(t, b.Passed, b.Error)
			require.Len(t, goCommands(b.Commands, "go list"), 1, "never cached under a go.work")
		}
	})
}

// goCommands lists the commands that start with one of prefixes.
func goCommands(cmds []handofftype.CommandRun, prefixes ...string) []string {
	var out []string
	for _, c := range cmds {
		for _, p := range prefixes {
			if strings.HasPrefix(c.Command, p+" ") {
				out = append(out, c.Command)
			}
		}
	}
	return out
}

// The cache key of a package changes with anything go list reads for it,
// and not with where the module lies.
func TestGoPackageKey(t *testing.T) {
	t.Parallel()
	needGo(t)
	ef := goEnvFacts{CacheDir: "/cache", ConfigFile: "/nonexistent/go/env"}
	key := func(ft *fixtureTask) string {
		return goPackageKey([]string{"GOPROXY=off", "TMPDIR=" + ft.dir}, ef, ft.dir, "./calc", filepath.Join(ft.dir, "calc"))
	}
	a, b := newFixtureTask(t, "testdata/go/module"), newFixtureTask(t, "testdata/go/module")
	require.NotEmpty(t, key(a))
	require.Equal(t, key(a), key(b), "another copy, another scratch directory: the same key")

	b.write(t, "calc/calc_handoff_test.go", "package calc\n")
	require.Equal(t, key(a), key(b), "test files do not change go list's answer")

	for name, change := range map[string]func(ft *fixtureTask){
		"go.mod":      func(ft *fixtureTask) { ft.write(t, "go.mod", "module example.com/other\n\ngo 1.22\n") },
		"source":      func(ft *fixtureTask) { ft.write(t, "calc/extra.go", "//go:build ignore\n\npackage calc\n") },
		"new file":    func(ft *fixtureTask) { ft.write(t, "calc/more.go", "package calc\n") },
		"new entry":   func(ft *fixtureTask) { ft.write(t, "calc/sub.go/x.txt", "") },
		"vendor":      func(ft *fixtureTask) { ft.write(t, "vendor/modules.txt", "") },
		"cgo":         func(ft *fixtureTask) { ft.write(t, "calc/c.go", "package calc\n\nimport \"C\"\n") },
		"go.work":     func(ft *fixtureTask) { ft.write(t, "go.work", "go 1.22\n\nuse .\n") },
		"-mod in env": nil,
	} {
		c := newFixtureTask(t, "testdata/go/module")
		if change == nil {
			require.Empty(t, goPackageKey([]string{"GOFLAGS=-mod=mod"}, ef, c.dir, "./calc", filepath.Join(c.dir, "calc")), name)
			continue
		}
		change(c)
		require.NotEqual(t, key(a), key(c), name)
		if name == "cgo" || name == "go.work" {
			require.Empty(t, key(c), "%s: never cached", name)
		}
	}
	require.Empty(t, goPackageKey(nil, goEnvFacts{config: []byte("GOFLAGS=-mod=mod\n")}, a.dir, "./calc", filepath.Join(a.dir, "calc")), "-mod in go's configuration file")
}
