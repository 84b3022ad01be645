package proberuntime

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCompilesUnderOldestLanguage: the run-time is compiled into packages
// whose go.mod may name any language version the go command accepts, down
// to go 1.0; it must not use newer syntax (0o literals, any, generics,
// signed shift counts, digit separators).
func TestCompilesUnderOldestLanguage(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		require.NoError(t, err)
		files = append(files, f)
	}
	require.NotEmpty(t, files)
	var errs []string
	conf := types.Config{GoVersion: "go1", Importer: importer.Default(), Error: func(err error) { errs = append(errs, err.Error()) }}
	_, _ = conf.Check("proberuntime", fset, files, nil)
	require.Empty(t, errs, "the run-time must compile with -lang=go1")
}
