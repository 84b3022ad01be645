package builtin_test

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/tools/cover"

	"github.com/handoff-dev/handoff/agent"
	"github.com/handoff-dev/handoff/agent/builtin"
)

// copyModule copies a directory tree into a fresh task directory; when
// modPath is not empty, the copy gets a go.mod for that module path.
func copyModule(t *testing.T, src, modPath string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "task")
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(dir, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	require.NoError(t, err)
	if modPath != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+modPath+"\n\ngo 1.22\n"), 0o644))
	}
	return dir
}

// newTask returns a task for module (a file or directory) in dir.
func newTask(dir, module, output string) (*agent.Task, *bytes.Buffer) {
	log := &bytes.Buffer{}
	return &agent.Task{ID: "test", Attempt: 1, Round: 1, Dir: dir, Module: module, Output: output, Language: "go",
		Threshold: 80, Log: log, Progress: func(string) {}}, log
}

// generate runs the builtin agent and returns its report, the written file
// and how long it took.
func generate(t *testing.T, cfg builtin.Config, task *agent.Task) (*agent.Report, []byte, time.Duration) {
	t.Helper()
	start := time.Now()
	rep, err := builtin.New(cfg).Run(context.Background(), task)
	took := time.Since(start)
	require.NoError(t, err, "log:\n%s", task.Log)
	out, ok := rep.Details["output"].(string)
	require.True(t, ok, "no test file written: %s", rep.Summary)
	src, err := os.ReadFile(filepath.Join(task.Dir, out))
	require.NoError(t, err)
	return rep, src, took
}

// goTestCover runs go test -count=3 in pkgDir with a cover profile and the
// extra flags, and returns the statement coverage of the files named (base
// names).
func goTestCover(t *testing.T, pkgDir string, flags []string, files ...string) float64 {
	t.Helper()
	profile := filepath.Join(t.TempDir(), "cover.out")
	args := append([]string{"test", "-count=3", "-coverprofile=" + profile}, flags...)
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = pkgDir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "generated tests fail:\n%s", out)
	profs, err := cover.ParseProfiles(profile)
	require.NoError(t, err)
	want := map[string]bool{}
	for _, f := range files {
		want[f] = true
	}
	total, covered := 0, 0
	for _, p := range profs {
		if len(files) > 0 && !want[filepath.Base(p.FileName)] {
			continue
		}
		for _, b := range p.Blocks {
			total += b.NumStmt
			if b.Count > 0 {
				covered += b.NumStmt
			}
		}
	}
	require.NotZero(t, total, "no statements of %v in the profile", files)
	return 100 * float64(covered) / float64(total)
}

// requireAssertions checks that every case of every generated test is
// checked by at least one assertion: each table has want columns, each row
// sets one of them (or the test asserts a nil error for rows without), and
// the test body reports failures.
func requireAssertions(t *testing.T, src []byte) (tests, cases int) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "gen_test.go", src, 0)
	require.NoError(t, err)
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || !strings.HasPrefix(fd.Name.Name, "Test") {
			continue
		}
		tests++
		var table *ast.CompositeLit
		reports := 0
		panicChecked := false // every case asserts whether it panics
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if n.Op == token.LOR && strings.Contains(types.ExprString(n), "tt.wantPanic") {
					panicChecked = true
				}
			case *ast.AssignStmt:
				if id, ok := n.Lhs[0].(*ast.Ident); ok && id.Name == "tests" {
					table, _ = n.Rhs[0].(*ast.CompositeLit)
				}
			case *ast.SelectorExpr:
				if n.Sel.Name == "Errorf" || n.Sel.Name == "Fatalf" {
					reports++
				}
			}
			return true
		})
		require.NotNil(t, table, "%s has no table", fd.Name.Name)
		require.NotZero(t, reports, "%s reports no failure", fd.Name.Name)
		st := table.Type.(*ast.ArrayType).Elt.(*ast.StructType)
		var wants []string
		nilErrChecked := false
		for _, fl := range st.Fields.List {
			for _, n := range fl.Names {
				if strings.HasPrefix(n.Name, "want") {
					wants = append(wants, n.Name)
				}
				if n.Name == "wantErr" {
					nilErrChecked = true
				}
			}
		}
		require.NotEmpty(t, wants, "%s has no want column", fd.Name.Name)
		require.NotEmpty(t, table.Elts, "%s has no case", fd.Name.Name)
		for _, e := range table.Elts {
			cases++
			row := e.(*ast.CompositeLit)
			asserted := nilErrChecked || panicChecked
			for _, kv := range row.Elts {
				if strings.HasPrefix(kv.(*ast.KeyValueExpr).Key.(*ast.Ident).Name, "want") {
					asserted = true
				}
			}
			require.True(t, asserted, "a case of %s at %s asserts nothing", fd.Name.Name, fset.Position(row.Pos()))
		}
	}
	require.NotZero(t, tests)
	return tests, cases
}
