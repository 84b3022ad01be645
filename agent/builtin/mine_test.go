package builtin

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"math/big"
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

func TestMineComposesStructuredInputs(t *testing.T) {
	t.Parallel()
	const src = `package p

type Opts struct {
	Name string ` + "`json:\"name\"`" + `
}

// Parse reads "{name}" templates. "in comments" is not code.
//go:generate stringer -type=Op
func Parse(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			n++
		case '+', '?':
			n += 2
		case '}':
			n--
		case ',':
		}
	}
	if s == "id" {
		return -1
	}
	return n
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
	require.NoError(t, err)
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	_, err = (&types.Config{}).Check("p", fset, []*ast.File{f}, info)
	require.NoError(t, err)
	l := mine([]*ast.File{f}, info)
	require.Equal(t, []string{"{", "+", "?", "}", ",", "id"}, l.strings,
		"struct tags, comments and go:generate lines are not literals of the code")
	require.Equal(t, []rune{'{', '+', '?', '}', ','}, l.caseRunes)
	// The first identifier-like literal names the variable, "x" is the
	// second name; the operators are the switch's cases.
	require.Equal(t, []string{
		"{id}", "{+id}", "{?id}", "{,id}", "{id,x}", "{id+}", "{id?}", "{id,}",
		"id{+id,x}", "id{?id,x}", "{id}/{x}", "id,x",
	}, l.composed)
	frags := fragmentsOf(l)
	require.Contains(t, frags, "{+id}", "composed inputs are mutation fragments too")
}

// TestMineSigilsAndSwitchTypes: a scanner that dispatches on a sigil and
// no bracket gets placeholders ("$1"), and the types a type switch names
// are kept for interface{} inputs.
func TestMineSigilsAndSwitchTypes(t *testing.T) {
	t.Parallel()
	src := `package p

func Count(s string) int {
	n := 0
	for _, r := range s {
		switch r {
		case '$':
			n++
		case ' ':
		}
	}
	return n
}

func Kind(v any) string {
	switch v.(type) {
	case int64:
		return "int64"
	case []byte, nil:
		return "bytes"
	}
	return "other"
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	require.NoError(t, err)
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}, Types: map[ast.Expr]types.TypeAndValue{}}
	_, err = (&types.Config{}).Check("p", fset, []*ast.File{f}, info)
	require.NoError(t, err)
	l := mine([]*ast.File{f}, info)
	require.Contains(t, l.composed, "$1")
	require.Contains(t, l.composed, "int64 $1", "a name, then the placeholder")
	var names []string
	for _, st := range l.switchTypes {
		names = append(names, st.String())
	}
	require.Equal(t, []string{"int64", "[]byte"}, names, "nil is not a type to build")
}

func TestFillTemplate(t *testing.T) {
	t.Parallel()
	for word, want := range map[string][]string{
		"{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}.": {"{01234567-89ab-cdef-0123-456789abcdef}", "{fedcba98-7654-3210-fedc-ba9876543210}"},
		"(urn:uuid:xxxx-xxxx":                     {"urn:uuid:0123-4567", "urn:uuid:fedc-ba98"},
		"nnnn.nn,":                                {"1234.56"},
		"XXXX":                                    {"0123", "FEDC"},
		"xx-xxx":                                  nil, // no run of four: a word, not a template
		"box":                                     nil,
		"hello":                                   nil,
	} {
		require.Equal(t, want, fillTemplate(word), word)
	}
}

func TestMineTemplatesInComments(t *testing.T) {
	t.Parallel()
	const src = `package p

// Parse reads (xxxx-xxxx or {xxxx-xxxx}).
func Parse(s string) int {
	switch len(s) {
	case 9: // xxxx-xxxx
		return 1
	}
	return 0
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments)
	require.NoError(t, err)
	l := mine([]*ast.File{f}, &types.Info{Defs: map[*ast.Ident]types.Object{}})
	require.Equal(t, []string{"0123-4567", "fedc-ba98", "{0123-4567}", "{fedc-ba98}"}, l.docStrings,
		"each template once, in the order the comments give them")

	l = &literals{}
	mineText(l, `Parse reads xxxx-xxxx: Parse("ab12-cd34") = 1.`)
	require.Equal(t, []string{"ab12-cd34", "0123-4567", "fedc-ba98"}, l.docStrings,
		"a quoted example first: it is the function's first case")
}

// TestMineFilesInOrderGiven: the file under test comes first, so its
// literals and constants are kept when the package has more than the caps.
func TestMineFilesInOrderGiven(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	a, err := parser.ParseFile(fset, "a.go", "package p\n\nconst A = 1\n\nvar x = \"from a\"\n", 0)
	require.NoError(t, err)
	b, err := parser.ParseFile(fset, "b.go", "package p\n\nconst B = 2\n\nvar y = \"from b\"\n", 0)
	require.NoError(t, err)
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	_, err = (&types.Config{}).Check("p", fset, []*ast.File{a, b}, info)
	require.NoError(t, err)
	l := mine([]*ast.File{b, a}, info)
	var consts []string
	for _, c := range l.consts {
		consts = append(consts, c.obj.Name())
	}
	require.Equal(t, []string{"B", "A"}, consts)
	require.Equal(t, []string{"from b", "from a"}, l.strings)
}

// TestNinesForDecimalCode: a package that works with 10 gets the numbers
// just below each power of ten, where rounding carries into a new digit;
// one that does not is spared them.
func TestNinesForDecimalCode(t *testing.T) {
	t.Parallel()
	u := types.Typ[types.Uint64]
	has := func(lits *literals, n string) bool {
		for _, v := range (&pools{lits: lits}).ints(u, u) {
			if v.lit == n {
				return true
			}
		}
		return false
	}
	require.True(t, has(&literals{ints: []*big.Int{big.NewInt(10)}}, "9999"))
	require.True(t, has(&literals{ints: []*big.Int{big.NewInt(10)}}, "999999"))
	require.False(t, has(&literals{ints: []*big.Int{big.NewInt(16)}}, "9999"))
}
