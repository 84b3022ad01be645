package builtin

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMine(t *testing.T) {
	t.Parallel()
	const src = `package p

import "strings"

type Level int

const (
	Debug Level = iota
	Info
	limit = 64
)

func F(s string) bool {
	if s == "v" || strings.HasPrefix(s, "--") || s[0] == '.' {
		return true
	}
	return len(s) > 0x10 && 2.5 > 1
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	require.NoError(t, err)
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: fakeImporter{}}
	_, err = conf.Check("p", fset, []*ast.File{f}, info)
	require.NoError(t, err)
	l := mine([]*ast.File{f}, info)
	require.Equal(t, []string{"v", "--", "."}, l.strings, "import paths are not literals of the code")
	require.Equal(t, []rune{'.'}, l.runes)
	var ints []string
	for _, n := range l.ints {
		ints = append(ints, n.String())
	}
	require.Equal(t, []string{"64", "0", "16", "1"}, ints, "in source order")
	require.Equal(t, []float64{2.5}, l.floats)
	var consts []string
	for _, c := range l.consts {
		consts = append(consts, c.obj.Name())
	}
	require.Equal(t, []string{"Debug", "Info", "limit"}, consts)
}

// fakeImporter gives "strings" with the one function the test source uses.
type fakeImporter struct{}

func (fakeImporter) Import(path string) (*types.Package, error) {
	pkg := types.NewPackage(path, path)
	str := types.Typ[types.String]
	sig := types.NewSignatureType(nil, nil, nil,
		types.NewTuple(types.NewParam(0, pkg, "s", str), types.NewParam(0, pkg, "prefix", str)),
		types.NewTuple(types.NewParam(0, pkg, "", types.Typ[types.Bool])), false)
	pkg.Scope().Insert(types.NewFunc(0, pkg, "HasPrefix", sig))
	pkg.MarkComplete()
	return pkg, nil
}
