package builtin

import (
	"go/types"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
)

func TestWriterSource(t *testing.T) {
	t.Parallel()
	pkg := types.NewPackage("example.com/shop", "shop")
	other := types.NewPackage("example.com/money", "money")
	str, integer := types.Typ[types.String], types.Typ[types.Int]
	named := func(p *types.Package, name string, under types.Type) *types.Named {
		return types.NewNamed(types.NewTypeName(0, p, name, nil), under, nil)
	}
	level := named(pkg, "Level", integer)
	item := named(pkg, "Item", types.NewStruct([]*types.Var{
		types.NewField(0, pkg, "Name", str, false), types.NewField(0, pkg, "Qty", integer, false)}, nil))
	amount := named(other, "Amount", types.Typ[types.Int64])
	any := types.NewInterfaceType(nil, nil)

	lit := func(t types.Type, l, src string) *value {
		return &value{typ: t, kind: proberuntime.HpKindLit, lit: l, src: src}
	}
	sItem := &value{typ: item, kind: proberuntime.HpKindStruct, names: []string{"Name", "Qty"},
		elems: []*value{lit(str, "pen", `"pen"`), lit(integer, "2", "2")}}
	byteT := types.Universe.Lookup("byte").Type()
	bytes := types.NewSlice(byteT)
	abc := &value{typ: bytes, kind: proberuntime.HpKindSlice}
	for _, c := range "ab\"" {
		abc.elems = append(abc.elems, lit(byteT, strconv.Itoa(int(c)), strconv.Itoa(int(c))))
	}
	ctorSig := types.NewSignatureType(nil, nil, nil, types.NewTuple(types.NewParam(0, pkg, "s", str)),
		types.NewTuple(types.NewParam(0, pkg, "", item), types.NewParam(0, nil, "", types.Universe.Lookup("error").Type())), false)
	parse := &function{expr: "ParseItem", sig: ctorSig, must: true, helper: "mustParseItem"}

	tests := []struct {
		name string
		v    *value
		want string
		imp  []string
	}{
		{name: "constant", v: &value{typ: level, kind: proberuntime.HpKindLit, lit: "2", src: "Debug", typed: true}, want: "Debug"},
		{name: "zero struct", v: &value{typ: item, kind: proberuntime.HpKindZero}, want: "Item{}"},
		{name: "zero string", v: &value{typ: str, kind: proberuntime.HpKindZero}, want: `""`},
		{name: "struct", v: sItem, want: `Item{Name: "pen", Qty: 2}`},
		{name: "slice elides element types", v: &value{typ: types.NewSlice(item), kind: proberuntime.HpKindSlice,
			elems: []*value{sItem, {typ: item, kind: proberuntime.HpKindZero}}}, want: `[]Item{{Name: "pen", Qty: 2}, {}}`},
		{name: "pointer", v: &value{typ: types.NewPointer(item), kind: proberuntime.HpKindPtr, elems: []*value{sItem}},
			want: `&Item{Name: "pen", Qty: 2}`},
		{name: "bytes as text", v: abc, want: "[]byte(`ab\"`)"},
		{name: "map", v: &value{typ: types.NewMap(str, integer), kind: proberuntime.HpKindMap,
			elems: []*value{lit(str, "a", `"a"`), lit(integer, "1", "1")}}, want: `map[string]int{"a": 1}`},
		{name: "interface keeps default type", v: &value{typ: any, kind: proberuntime.HpKindIface,
			elems: []*value{lit(integer, "3", "3")}}, want: "3"},
		{name: "interface converts named", v: &value{typ: any, kind: proberuntime.HpKindIface,
			elems: []*value{lit(level, "3", "3")}}, want: "Level(3)"},
		{name: "interface converts other package", v: &value{typ: any, kind: proberuntime.HpKindIface,
			elems: []*value{lit(amount, "5", "5")}}, want: "money.Amount(5)", imp: []string{"example.com/money"}},
		{name: "limit constant", v: &value{typ: integer, kind: proberuntime.HpKindLit, lit: "9223372036854775807",
			src: "math.MaxInt", needs: "math"}, want: "math.MaxInt", imp: []string{"math"}},
		{name: "must helper", v: &value{typ: item, kind: proberuntime.HpKindCall, fn: parse,
			elems: []*value{lit(str, "pen", `"pen"`)}}, want: `mustParseItem("pen")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			im := newImports(pkg, false)
			w := &writer{im: im, taken: map[string]bool{}, helpers: map[*function]string{}}
			require.Equal(t, tt.want, w.source(tt.v, false))
			var imp []string
			for p := range im.byPath {
				imp = append(imp, p)
			}
			require.ElementsMatch(t, tt.imp, imp)
		})
	}
}

func TestImportsBlock(t *testing.T) {
	t.Parallel()
	self := types.NewPackage("example.com/shop", "shop")
	im := newImports(self, false)
	require.Equal(t, "", im.name("example.com/shop", "shop"), "the package itself is not imported")
	im.name("testing", "testing")
	im.name("github.com/x/y/v2", "y")
	im.name("math", "math")
	require.Equal(t, "import (\n\t\"math\"\n\t\"testing\"\n\n\ty \"github.com/x/y/v2\"\n)\n", im.block())

	probe := newImports(self, true)
	require.Equal(t, "hpimp0.New", probe.qualify("errors", "errors", "New"))
	require.Equal(t, "import (\n\thpimp0 \"errors\"\n)\n", probe.block())
}

func TestShrinkValue(t *testing.T) {
	t.Parallel()
	str, integer := types.Typ[types.String], types.Typ[types.Int]
	srcs := func(vs []*value) []string {
		var out []string
		for _, v := range vs {
			out = append(out, (&writer{im: newImports(nil, false)}).source(v, false))
		}
		return out
	}
	require.Equal(t, []string{`"bc"`, `"ac"`, `"ab"`},
		srcs(shrinkValue(&value{typ: str, kind: proberuntime.HpKindLit, lit: "abc", src: `"abc"`})))
	require.Equal(t, []string{"0", "-50", "-99"},
		srcs(shrinkValue(&value{typ: integer, kind: proberuntime.HpKindLit, lit: "-100", src: "-100"})))
	require.Empty(t, shrinkValue(&value{typ: integer, kind: proberuntime.HpKindLit, lit: "0", src: "0"}))
	require.Empty(t, shrinkValue(&value{typ: integer, kind: proberuntime.HpKindLit, lit: "3", src: "Max", typed: true}),
		"named constants stay")
	xs := &value{typ: types.NewSlice(integer), kind: proberuntime.HpKindSlice, elems: []*value{
		{typ: integer, kind: proberuntime.HpKindLit, lit: "4", src: "4"},
		{typ: integer, kind: proberuntime.HpKindLit, lit: "5", src: "5"}}}
	require.Equal(t, []string{"[]int{5}", "[]int{4}", "[]int{0, 5}", "[]int{4, 0}"}, srcs(shrinkValue(xs)))
}

func TestValueComparable(t *testing.T) {
	t.Parallel()
	pkg := types.NewPackage("p", "p")
	flat := types.NewStruct([]*types.Var{types.NewField(0, pkg, "A", types.Typ[types.Int], false)}, nil)
	deep := types.NewStruct([]*types.Var{types.NewField(0, pkg, "P", types.NewPointer(types.Typ[types.Int]), false)}, nil)
	require.True(t, valueComparable(types.Typ[types.String], 0))
	require.True(t, valueComparable(flat, 0))
	require.True(t, valueComparable(types.NewArray(flat, 2), 0))
	require.False(t, valueComparable(deep, 0), "== would compare the pointer, not the value")
	require.False(t, valueComparable(types.NewSlice(types.Typ[types.Int]), 0))
	require.False(t, valueComparable(types.Universe.Lookup("error").Type(), 0))
	require.Equal(t, "%q", verb(types.Typ[types.String]))
	require.Equal(t, "%q", verb(types.NewSlice(types.Typ[types.Byte])))
	require.Equal(t, "%+v", verb(flat))
	require.Equal(t, "%v", verb(types.Typ[types.Int]))
}
