package proberuntime

import (
	"errors"
	"reflect"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

type box struct {
	Items []string
	count int
}

func newBox(items ...string) *box { return &box{Items: items, count: len(items)} }

func parseLevel(s string) (level, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errors.New("bad level")
	}
	return level(n), nil
}

func TestHpBuild(t *testing.T) {
	t.Parallel()
	b := &hpBuilder{
		funcs: []interface{}{newBox, parseLevel},
		types: []reflect.Type{
			reflect.TypeOf(""),                         // 0
			reflect.TypeOf([]string{}),                 // 1
			reflect.TypeOf(map[string]int{}),           // 2
			reflect.TypeOf(0),                          // 3
			reflect.TypeOf(box{}),                      // 4
			reflect.TypeOf(&box{}),                     // 5
			reflect.TypeOf(level(0)),                   // 6
			reflect.TypeOf((*interface{})(nil)).Elem(), // 7
			reflect.TypeOf([2]float64{}),               // 8
		},
	}
	str := func(s string) *HpNode { return &HpNode{Type: 0, Kind: HpKindLit, Value: s} }
	tests := []struct {
		name string
		node *HpNode
		want interface{}
	}{
		{name: "string", node: str("hé"), want: "hé"},
		{name: "slice", node: &HpNode{Type: 1, Kind: HpKindSlice, Elems: []*HpNode{str("a"), str("b")}}, want: []string{"a", "b"}},
		{name: "map", node: &HpNode{Type: 2, Kind: HpKindMap, Elems: []*HpNode{str("k"), {Type: 3, Kind: HpKindLit, Value: "-4"}}},
			want: map[string]int{"k": -4}},
		{name: "struct with unexported field", node: &HpNode{Type: 4, Kind: HpKindStruct, Names: []string{"count"},
			Elems: []*HpNode{{Type: 3, Kind: HpKindLit, Value: "2"}}}, want: box{count: 2}},
		{name: "pointer", node: &HpNode{Type: 5, Kind: HpKindPtr, Elems: []*HpNode{{Type: 4, Kind: HpKindZero}}}, want: &box{}},
		{name: "variadic constructor", node: &HpNode{Type: 5, Kind: HpKindCall, Func: 0,
			Elems: []*HpNode{{Type: 1, Kind: HpKindSlice, Elems: []*HpNode{str("x")}}}}, want: &box{Items: []string{"x"}, count: 1}},
		{name: "constructor with error", node: &HpNode{Type: 6, Kind: HpKindCall, Func: 1, Elems: []*HpNode{str("7")}}, want: level(7)},
		{name: "interface", node: &HpNode{Type: 7, Kind: HpKindIface, Elems: []*HpNode{str("s")}}, want: "s"},
		{name: "array", node: &HpNode{Type: 8, Kind: HpKindArray, Elems: []*HpNode{{Type: 3, Kind: HpKindZero}}}, want: [2]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := b.build(tt.node)
			require.NoError(t, err)
			require.Equal(t, tt.want, v.Interface())
		})
	}

	t.Run("failing constructor", func(t *testing.T) {
		t.Parallel()
		_, err := b.build(&HpNode{Type: 6, Kind: HpKindCall, Func: 1, Elems: []*HpNode{str("x")}})
		require.ErrorContains(t, err, "constructor returned an error")
	})
	t.Run("bad literal", func(t *testing.T) {
		t.Parallel()
		_, err := b.build(&HpNode{Type: 3, Kind: HpKindLit, Value: "x"})
		require.Error(t, err)
	})
}

func TestHpCallRecoversPanic(t *testing.T) {
	t.Parallel()
	outs, pv := hpCall(reflect.ValueOf(func(xs []int, i int) int { return xs[i] }),
		[]reflect.Value{reflect.ValueOf([]int{1}), reflect.ValueOf(3)})
	require.Nil(t, outs)
	require.NotNil(t, pv)
	require.Equal(t, "runtime error: index out of range [3] with length 1", *pv)
}
