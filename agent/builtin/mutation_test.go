package builtin_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/builtin"
)

// mutationEnv turns on TestMutationScore, a measurement that takes
// minutes, not a check of the default run.
const mutationEnv = "HANDOFF_BUILTIN_MUTATION"

// maxMutants bounds the mutants tried per file, spread over the file.
const maxMutants = 40

// TestMutationScore measures how many small operator changes of a file
// (< and <=, > and >=, == and !=, + and -, one at a time) the generated
// tests catch, next to the module's own tests from the Go module cache.
// Set HANDOFF_BUILTIN_MUTATION=1 to run it.
func TestMutationScore(t *testing.T) {
	if os.Getenv(mutationEnv) == "" {
		t.Skip("a measurement of minutes; set " + mutationEnv + "=1 to run it")
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	require.NoError(t, err)
	cache := strings.TrimSpace(string(out))
	for _, m := range []struct {
		dir, file string
		own       []string // the module's test files for file, in the module cache
	}{
		{dir: "match", file: "match.go", own: []string{"github.com/tidwall/match@v1.2.0/match_test.go"}},
		{dir: "xmod", file: "semver/semver.go", own: []string{"golang.org/x/mod@v0.42.0/semver/semver_test.go"}},
		{dir: "xmod", file: "module/module.go", own: []string{"golang.org/x/mod@v0.42.0/module/module_test.go"}},
		{dir: "xmod", file: "sumdb/tlog/tlog.go", own: []string{"golang.org/x/mod@v0.42.0/sumdb/tlog/tlog_test.go"}},
		{dir: "humanize", file: "bytes.go", own: []string{"github.com/dustin/go-humanize@v1.1.0/bytes_test.go",
			"github.com/dustin/go-humanize@v1.1.0/common_test.go"}},
		{dir: "uuid", file: "uuid.go", own: []string{"github.com/google/uuid@v1.6.0/uuid_test.go"}},
		{dir: "uritemplate", file: "uritemplate.go", own: []string{"github.com/yosida95/uritemplate/v3@v3.0.2/uritemplate_test.go"}},
		{dir: "pgx", file: "internal/sanitize/sanitize.go", own: []string{"github.com/jackc/pgx/v5@v5.12.0/internal/sanitize/sanitize_test.go"}},
	} {
		t.Run(strings.ReplaceAll(m.dir+"/"+m.file, "/", "_"), func(t *testing.T) {
			for _, own := range m.own {
				if _, err := os.Stat(filepath.Join(cache, own)); err != nil {
					t.Skipf("the module's own tests are not in the module cache: %v", err)
				}
			}
			genDir := copyModule(t, filepath.Join("testdata", "realworld", m.dir), "")
			task, _ := newTask(genDir, m.file, "")
			_, _, _ = generate(t, builtin.Config{}, task)
			ownDir := copyModule(t, filepath.Join("testdata", "realworld", m.dir), "")
			pkg := filepath.Dir(m.file)
			for _, own := range m.own {
				ownSrc, err := os.ReadFile(filepath.Join(cache, own))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(ownDir, pkg, filepath.Base(own)), ownSrc, 0o644))
			}

			path := filepath.Join(genDir, m.file)
			orig, err := os.ReadFile(path)
			require.NoError(t, err)
			for _, dir := range []string{genDir, ownDir} {
				killed, ok := runWithMutant(t, filepath.Join(dir, pkg), filepath.Base(m.file), orig)
				require.True(t, ok && !killed, "the tests in %s must pass on the unchanged file", dir)
			}
			muts := operatorMutants(t, orig)
			if len(muts) > maxMutants {
				step := float64(len(muts)) / maxMutants
				var sample []mutant
				for i := 0; i < maxMutants; i++ {
					sample = append(sample, muts[int(float64(i)*step)])
				}
				muts = sample
			}
			valid, killedGen, killedOwn := 0, 0, 0
			var missed []string
			for _, mu := range muts {
				src := append(append(append([]byte(nil), orig[:mu.off]...), mu.to...), orig[mu.off+len(mu.from):]...)
				gen, ok := runWithMutant(t, filepath.Join(genDir, pkg), filepath.Base(m.file), src)
				if !ok {
					continue // does not compile (a duplicate case, + on strings)
				}
				ownKilled, _ := runWithMutant(t, filepath.Join(ownDir, pkg), filepath.Base(m.file), src)
				valid++
				if gen {
					killedGen++
				} else {
					line := 1 + strings.Count(string(orig[:mu.off]), "\n")
					missed = append(missed, fmt.Sprintf("line %d: %s -> %s", line, mu.from, mu.to))
				}
				if ownKilled {
					killedOwn++
				}
			}
			require.NotZero(t, valid)
			t.Logf("%s: %d mutants that compile; the generated tests kill %d (%.0f %%), the module's own tests %d (%.0f %%)",
				m.file, valid, killedGen, 100*float64(killedGen)/float64(valid), killedOwn, 100*float64(killedOwn)/float64(valid))
			t.Logf("%s: the generated tests miss %s", m.file, strings.Join(missed, "; "))
		})
	}
}

// TestBoundariesPinned: the generated tests catch every operator changed
// into its neighbour in a file of comparisons (>= into >, < into <=, + into
// -), whose cases must include equal operands and one-off values, not only
// the calls that reach each statement.
func TestBoundariesPinned(t *testing.T) {
	t.Parallel()
	dir := copyModule(t, filepath.Join("testdata", "boundary"), "example.com/boundary")
	task, _ := newTask(dir, "boundary.go", "boundary_test.go")
	rep, _, _ := generate(t, builtin.Config{}, task)
	require.Positive(t, rep.Details["mutants_told_apart"], "the report counts the mutants the calls told apart")
	orig, err := os.ReadFile(filepath.Join(dir, "boundary.go"))
	require.NoError(t, err)
	muts := operatorMutants(t, orig)
	require.Len(t, muts, 7)
	for _, mu := range muts {
		src := append(append(append([]byte(nil), orig[:mu.off]...), mu.to...), orig[mu.off+len(mu.from):]...)
		killed, ok := runWithMutant(t, dir, "boundary.go", src)
		require.True(t, ok, "the mutant %s -> %s at %d builds", mu.from, mu.to, mu.off)
		require.True(t, killed, "the generated tests miss %s turned into %s at byte %d:\n%s", mu.from, mu.to, mu.off, task.Log)
	}
}

// mutant replaces the operator from at byte offset off by to.
type mutant struct {
	off      int
	from, to string
}

// operatorMutants lists the binary operators of src that flip into their
// neighbour, in source order.
func operatorMutants(t *testing.T, src []byte) []mutant {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "m.go", src, 0)
	require.NoError(t, err)
	flip := map[token.Token]token.Token{
		token.LSS: token.LEQ, token.LEQ: token.LSS, token.GTR: token.GEQ, token.GEQ: token.GTR,
		token.EQL: token.NEQ, token.NEQ: token.EQL, token.ADD: token.SUB, token.SUB: token.ADD,
	}
	var out []mutant
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if b, ok := n.(*ast.BinaryExpr); ok {
				if to, ok := flip[b.Op]; ok {
					out = append(out, mutant{off: fset.Position(b.OpPos).Offset, from: b.Op.String(), to: to.String()})
				}
			}
			return true
		})
	}
	return out
}

// runWithMutant puts src in place of file in pkgDir, runs the package's
// tests and puts the file back. killed: the tests failed; ok: it built.
func runWithMutant(t *testing.T, pkgDir, file string, src []byte) (killed, ok bool) {
	path := filepath.Join(pkgDir, file)
	orig, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, src, 0o644))
	defer func() { require.NoError(t, os.WriteFile(path, orig, 0o644)) }()
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	build := exec.Command("go", "build", ".")
	build.Dir, build.Env = pkgDir, env
	if build.Run() != nil {
		return false, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, "go", "test", "-count=1", "-vet=off", "-failfast", "-timeout=30s", ".")
	run.Dir, run.Env = pkgDir, env
	err = run.Run()
	return err != nil, true
}

// TestShapesFromComments: a parser that switches on the input's length and
// checks separators at fixed offsets accepts only the shapes its comments
// write ("nnnn-nnnnnn", "[nnnn/nnnnnn]"); the generated tests must reach
// both, and their success paths, which random strings do not.
func TestShapesFromComments(t *testing.T) {
	t.Parallel()
	dir := copyModule(t, filepath.Join("testdata", "shapes"), "example.com/shapes")
	task, _ := newTask(dir, "shapes.go", "shapes_test.go")
	_, src, _ := generate(t, builtin.Config{}, task)
	require.Contains(t, string(src), `"1234-567890"`, "the plain form, filled in:\n%s", src)
	require.Contains(t, string(src), `"[1234/567890]"`, "the bracketed form, filled in:\n%s", src)
	require.Equal(t, 100.0, goTestCover(t, dir, nil, "shapes.go"), "every branch of Parse is reached:\n%s", src)
}
