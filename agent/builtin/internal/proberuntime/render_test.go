package proberuntime

import (
	"errors"
	"math"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testPkg = "github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"

type point struct {
	X, Y int
	Tag  string
}

type level int

type node struct {
	Next *node
	V    int
}

func TestHpRender(t *testing.T) {
	t.Parallel()
	var nilSlice []int
	var nilMap map[string]int
	var anyInt interface{} = int64(3)
	tests := []struct {
		name string
		v    interface{}
		want string
		imp  map[string]string
	}{
		{name: "int", v: 42, want: "42"},
		{name: "negative", v: -7, want: "-7"},
		{name: "uint8", v: uint8(200), want: "200"},
		{name: "named int", v: level(2), want: "2"},
		{name: "float", v: 0.1, want: "0.1"},
		{name: "float32", v: float32(1.5), want: "1.5"},
		{name: "inf", v: math.Inf(-1), want: "math.Inf(-1)", imp: map[string]string{"math": "math"}},
		{name: "complex", v: complex(1, -2), want: "complex(1, -2)"},
		{name: "string", v: "a\tb", want: `"a\tb"`},
		{name: "raw string", v: `say "hi"`, want: "`say \"hi\"`"},
		{name: "bool", v: true, want: "true"},
		{name: "nil slice", v: nilSlice, want: "nil"},
		{name: "empty slice", v: []int{}, want: "[]int{}"},
		{name: "bytes as text", v: []byte("abc"), want: `[]byte("abc")`},
		{name: "binary bytes", v: []byte{0, 255}, want: `[]byte{0, 255}`},
		{name: "nil map", v: nilMap, want: "nil"},
		{name: "map sorted", v: map[string]int{"b": 2, "a": 1}, want: `map[string]int{"a": 1, "b": 2}`},
		{name: "struct omits zero fields", v: point{X: 1, Tag: "t"}, want: `point{X: 1, Tag: "t"}`},
		{name: "slice of structs elided", v: []point{{X: 1}, {}}, want: `[]point{{X: 1}, {}}`},
		{name: "pointers elided", v: []*point{{Y: 2}}, want: `[]*point{{Y: 2}}`},
		{name: "pointer", v: &point{X: 3}, want: `&point{X: 3}`},
		{name: "array", v: [2]bool{true, false}, want: "[2]bool{true, false}"},
		{name: "interfaces carry types", v: []interface{}{1, "x", int64(3), 2.0, level(1), nil},
			want: `[]interface{}{1, "x", int64(3), 2.0, level(1), nil}`},
		{name: "foreign type", v: url.URL{Scheme: "https", Host: "x"}, want: `url.URL{Scheme: "https", Host: "x"}`,
			imp: map[string]string{"net/url": "url"}},
		{name: "duration", v: 2 * time.Second, want: "2000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := HpRender(testPkg, reflect.ValueOf(tt.v))
			require.Empty(t, got.Bad)
			require.Equal(t, tt.want, got.Src)
			require.Equal(t, tt.imp, got.Imports)
		})
	}
	t.Run("interface slot", func(t *testing.T) {
		t.Parallel()
		got := HpRender(testPkg, reflect.ValueOf(&anyInt).Elem())
		require.Equal(t, "int64(3)", got.Src)
	})
}

func TestHpRenderRefuses(t *testing.T) {
	t.Parallel()
	cyclic := &node{V: 1}
	cyclic.Next = cyclic
	n := 5
	tests := []struct {
		name string
		v    interface{}
		bad  string
	}{
		{name: "NaN", v: math.NaN(), bad: "NaN"},
		{name: "func", v: func() {}, bad: "func"},
		{name: "chan", v: make(chan int), bad: "chan"},
		{name: "time", v: time.Unix(1, 0), bad: "unexported fields"},
		{name: "cycle", v: cyclic, bad: "refers to itself"},
		{name: "pointer to int", v: &n, bad: "pointer to a int"},
		{name: "error value", v: []error{errors.New("x")}, bad: "unexported fields"},
		{name: "too large", v: make([]int, 1000), bad: "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := HpRender(testPkg, reflect.ValueOf(tt.v))
			require.Empty(t, got.Src)
			require.Contains(t, got.Bad, tt.bad)
		})
	}
}

func TestHpCanImport(t *testing.T) {
	t.Parallel()
	require.True(t, hpCanImport("example.com/a", "net/url"))
	require.False(t, hpCanImport("example.com/a", "internal/poll"))
	require.False(t, hpCanImport("example.com/a", "vendor/golang.org/x/net/idna"))
	require.True(t, hpCanImport("example.com/a/b", "example.com/a/internal/c"))
	require.False(t, hpCanImport("example.com/z", "example.com/a/internal/c"))
}
