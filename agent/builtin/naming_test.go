package builtin

import (
	"go/types"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
)

func TestSanitizeName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"v1.2.3", "v1.2.3"},
		{"Hello, World", "Hello,_World"},
		{"a  /  b", "a_b"},
		{`"quoted"\`, "quoted"},
		{"", "case"},
		{"   ", "case"},
		{"日本", "日本"},
		{"0123456789012345678901234567890123456789xyz", "0123456789012345678901234567890123456789"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, sanitizeName(tt.in), "sanitizeName(%q)", tt.in)
	}
}

func TestCaseName(t *testing.T) {
	t.Parallel()
	str := types.Typ[types.String]
	lit := func(s string) *value { return &value{typ: str, kind: proberuntime.HpKindLit, lit: s, src: quote(s)} }
	num := &value{typ: types.Typ[types.Int], kind: proberuntime.HpKindLit, lit: "-3", src: "-3"}
	fn := &target{params: []param{{name: "s", typ: str}, {name: "n", typ: types.Typ[types.Int]}}}
	require.Equal(t, "v1.0_-3", caseName(&candidate{t: fn, args: []*value{lit("v1.0"), num}}))
	require.Equal(t, "empty_-3", caseName(&candidate{t: fn, args: []*value{lit(""), num}}))

	slice := &value{typ: types.NewSlice(str), kind: proberuntime.HpKindSlice,
		elems: []*value{lit("a"), lit("b"), lit("c"), lit("d")}}
	one := &target{params: []param{{name: "xs", typ: slice.typ}}}
	require.Equal(t, "a,b,c,more", caseName(&candidate{t: one, args: []*value{slice}}))

	// A receiver built by a constructor names the case; a literal one does
	// not, unless it is all there is.
	ctor := &value{kind: proberuntime.HpKindCall, fn: &function{expr: "NewStack"}, elems: []*value{num}}
	method := &target{params: []param{{name: "s", recv: true}, {name: "v", typ: types.Typ[types.Int]}}}
	require.Equal(t, "NewStack_-3_-3", caseName(&candidate{t: method, args: []*value{ctor, num}}))
	zero := &value{typ: str, kind: proberuntime.HpKindZero}
	require.Equal(t, "-3", caseName(&candidate{t: method, args: []*value{zero, num}}))
	require.Equal(t, "zero", caseName(&candidate{t: &target{params: []param{{recv: true}}}, args: []*value{zero}}))
}

func TestFreeName(t *testing.T) {
	t.Parallel()
	taken := map[string]bool{"TestParse": true, "TestParseGenerated": true}
	require.Equal(t, "TestParseGenerated2", freeName(taken, "TestParse", "Generated"))
	require.Equal(t, "TestFormat", freeName(taken, "TestFormat", "Generated"))
	require.True(t, taken["TestFormat"], "a returned name is taken")
	require.Equal(t, "TestFormatGenerated", freeName(taken, "TestFormat", "Generated"))
}
