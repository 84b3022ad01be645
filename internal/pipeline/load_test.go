package pipeline

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLoadRejects runs every file in testdata/invalid: each says in
// "# want: LINE: text" comments which problems Load must report, at which
// line, and no others.
func TestLoadRejects(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/invalid/*.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			type want struct {
				line int
				text string
			}
			var wants []want
			for _, l := range strings.Split(string(data), "\n") {
				rest, ok := strings.CutPrefix(l, "# want: ")
				if !ok {
					continue
				}
				n, text, _ := strings.Cut(rest, ": ")
				line, err := strconv.Atoi(n)
				require.NoError(t, err, "want line %q", l)
				wants = append(wants, want{line, text})
			}
			require.NotEmpty(t, wants, "fixture has no # want: lines")

			p, err := Load(file)
			require.Nil(t, p)
			require.ErrorIs(t, err, ErrInvalid)
			var inv *InvalidError
			require.ErrorAs(t, err, &inv)
			for _, w := range wants {
				found := false
				for _, pr := range inv.Problems {
					if pr.Line == w.line && strings.Contains(pr.Message, w.text) {
						found = true
						require.True(t, strings.HasPrefix(pr.String(), file+":"+strconv.Itoa(w.line)+":"), pr.String())
					}
				}
				require.True(t, found, "want problem at line %d containing %q; got:\n%s", w.line, w.text, err)
			}
			require.Len(t, inv.Problems, len(wants), "got:\n%s", err)
		})
	}
}

func TestLoadAccepts(t *testing.T) {
	t.Parallel()
	p, err := Parse("p.yml", []byte(`
name: demo
agent: builtin
concurrency: 3
env: {GOFLAGS: -mod=mod, EMPTY: }
stages:
  generate:
    generate:
      modules: ["pkg/*.go", "cmd"]
      coverage: 85%
      model: small
      output: "{dir}/{stem}_gen_test.go"
  test:
    run: |
      go vet ./...
      go test ./...
    env: {A: "1"}
    timeout: 90s
    continue-on-error: true
    working-directory: sub
  collect:
    needs: test
    collect: generate
    timeout: 5m
    require: any
`))
	require.NoError(t, err)
	require.Equal(t, "demo", p.Name)
	require.Equal(t, "builtin", p.Agent)
	require.Equal(t, 3, p.Concurrency)
	require.Equal(t, map[string]string{"GOFLAGS": "-mod=mod", "EMPTY": ""}, p.Env)
	require.Len(t, p.Stages, 3)

	g := p.Stage("generate")
	require.Equal(t, KindGenerate, g.Kind)
	require.Equal(t, []string{"pkg/*.go", "cmd"}, g.Generate.Modules)
	require.InDelta(t, 85.0, *g.Generate.Coverage, 0)
	require.Equal(t, "small", g.Generate.Model)

	r := p.Stage("test")
	require.Equal(t, KindRun, r.Kind)
	require.Equal(t, "go vet ./...\ngo test ./...\n", r.Run.Command)
	require.Equal(t, 90*time.Second, r.Run.Timeout)
	require.True(t, r.Run.ContinueOnError)
	require.Equal(t, "sub", r.Run.WorkingDirectory)
	require.Equal(t, map[string]string{"A": "1"}, r.Run.Env)

	c := p.Stage("collect")
	require.Equal(t, KindCollect, c.Kind)
	require.Equal(t, []string{"test", "generate"}, c.Needs, "a collect needs the stages it collects")
	require.Equal(t, RequireAny, c.Collect.Require)
	require.Equal(t, 5*time.Minute, c.Collect.Timeout)

	names := func(ss []*Stage) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return out
	}
	require.Equal(t, []string{"generate", "test", "collect"}, names(order(p)))
	require.Equal(t, "p", mustParse(t, "dir/p.yml", "stages: {a: {run: 'true'}}").Name, "name defaults to the file's")
}

func mustParse(t *testing.T, file, yml string) *Pipeline {
	t.Helper()
	p, err := Parse(file, []byte(yml))
	require.NoError(t, err)
	return p
}

func TestExpandOutput(t *testing.T) {
	t.Parallel()
	require.Equal(t, "pkg/sku_gen_test.go", expandOutput("{dir}/{stem}_gen_test.go", "pkg/sku.go"))
	require.Equal(t, "sku_test.go", expandOutput("{dir}/{stem}_test.go", "sku.go"))
	require.Equal(t, "tests/test_m.py", expandOutput("tests/test_{file}", "src/m.py"))
	require.Equal(t, "pkg/stock/stock_test.go", expandOutput("{dir}/{stem}_test.go", "pkg/stock"))
	require.Equal(t, "", expandOutput("", "pkg/sku.go"))
}
