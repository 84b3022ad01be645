package builtin

import (
	"go/types"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
)

func TestBoundaryPairs(t *testing.T) {
	t.Parallel()
	lit := func(typ types.Type, s string) *value {
		return &value{typ: typ, kind: proberuntime.HpKindLit, lit: s, src: s}
	}
	integer, str := types.Typ[types.Int], types.Typ[types.String]
	compare := &target{name: "Compare", params: []param{{name: "a", typ: integer}, {name: "b", typ: integer}, {name: "s", typ: str}}}
	ints := []*value{{typ: integer, kind: proberuntime.HpKindZero}, lit(integer, "7"), lit(integer, "-3"), lit(integer, "12")}
	e := &explorer{pools: &pools{rng: rand.New(rand.NewPCG(1, 2))}, seen: map[string]bool{}, argPools: map[*target][][]*value{
		compare: {ints, ints, {lit(str, `"x"`)}},
	}}
	got := map[[2]string]bool{}
	for _, c := range e.initial(compare) {
		got[[2]string{c.args[0].lit, c.args[1].lit}] = true
	}
	for _, want := range [][2]string{{"7", "7"}, {"-3", "7"}, {"7", "-3"}, {"7", "12"}, {"12", "7"}} {
		require.True(t, got[want], "equal, less and greater pairs of non-zero values: %v", want)
	}

	// Strings in order, doc examples first; a value of another type makes
	// no pair.
	v1, v2 := lit(str, "v1.2.0"), lit(str, "v1.10.0")
	v1.doc, v2.doc = true, true
	pairs := boundaryPairs(&target{params: []param{{typ: str}, {typ: str}, {typ: integer}}},
		[][]*value{{lit(str, "a"), v1, v2}, {lit(str, "a"), v1, v2}, ints})
	var gotS [][2]string
	for _, p := range pairs {
		require.Equal(t, 0, p.i)
		require.Equal(t, 1, p.j)
		gotS = append(gotS, [2]string{p.a.lit, p.b.lit})
	}
	require.Equal(t, [][2]string{{"v1.2.0", "v1.2.0"}, {"a", "v1.10.0"}, {"v1.10.0", "a"}, {"v1.10.0", "v1.2.0"}, {"v1.2.0", "v1.10.0"}}, gotS)
}
