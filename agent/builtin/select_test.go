package builtin

import (
	"go/types"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
)

func TestSelectCases(t *testing.T) {
	t.Parallel()
	integer := types.Typ[types.Int]
	result := types.NewVar(0, nil, "", integer)
	parse := &target{name: "Parse", testName: "TestParse", params: []param{{name: "n", typ: integer}}, results: []*types.Var{result}}
	format := &target{name: "Format", testName: "TestFormat", params: []param{{name: "n", typ: integer}}, results: []*types.Var{result}}
	id := 0
	cand := func(t *target, n, want string, cover ...int) *candidate {
		id++
		return &candidate{id: id, t: t, stable: true,
			args: []*value{{typ: integer, kind: proberuntime.HpKindLit, lit: n, src: n}},
			out: &proberuntime.HpOutcome{ID: id, Status: proberuntime.HpStatusOK, Cover: cover,
				Results: []proberuntime.HpResult{{Literal: &proberuntime.HpLiteral{Src: want}}}}}
	}
	// Blocks 0-2 are Parse's body, 3-4 Format's, 5-6 a helper both call.
	weights := []int{1, 1, 1, 1, 1, 5, 1}
	own := map[*target]map[int]bool{parse: {0: true, 1: true, 2: true}, format: {3: true, 4: true}}
	cands := []*candidate{
		cand(parse, "1000", "1", 0, 1),
		cand(parse, "7", "1", 0, 1),    // same blocks, smaller: preferred
		cand(parse, "8", "1", 0, 2, 5), // Parse's own block 2, and the helper
		cand(parse, "-1", "-1", 0),     // no new block, but a new outcome
		cand(format, "3", "3", 3, 4, 5),
		cand(format, "4", "4", 3, 4, 6), // the helper's last block: global gain
		cand(format, "5", "5", 3, 4),
	}
	unstable := cand(format, "9", "99", 3, 4, 5, 6)
	unstable.stable = false
	cands = append(cands, unstable)

	plans := selectCases([]*target{parse, format}, cands, weights, own, 10, map[string]bool{})
	require.Len(t, plans, 2)
	names := func(p *plan) []string { return p.names }
	require.Equal(t, []string{"7", "8", "-1"}, names(plans[0]), "smallest first")
	require.Equal(t, []string{"3", "4"}, names(plans[1]))

	capped := selectCases([]*target{parse, format}, cands, weights, own, 1, map[string]bool{})
	require.Len(t, capped[0].cases, 1)
	require.Len(t, capped[1].cases, 1)

	excluded := selectCases([]*target{parse, format}, cands, weights, own, 10,
		map[string]bool{"TestParse/8": true, "TestFormat/*": true})
	require.Len(t, excluded, 1)
	require.NotContains(t, names(excluded[0]), "8")
}

func TestUsable(t *testing.T) {
	t.Parallel()
	integer := types.Typ[types.Int]
	errT := types.Universe.Lookup("error").Type()
	fn := &target{results: []*types.Var{types.NewVar(0, nil, "", integer), types.NewVar(0, nil, "", errT)}}
	msg, empty := "bad input", ""
	ok := func(rs ...proberuntime.HpResult) *candidate {
		return &candidate{t: fn, stable: true, out: &proberuntime.HpOutcome{Status: proberuntime.HpStatusOK, Results: rs}}
	}
	lit := proberuntime.HpResult{Literal: &proberuntime.HpLiteral{Src: "1"}}
	bad := proberuntime.HpResult{Literal: &proberuntime.HpLiteral{Bad: "NaN"}}
	require.True(t, usable(ok(lit, proberuntime.HpResult{IsError: true}), nil))
	require.True(t, usable(ok(bad, proberuntime.HpResult{IsError: true, Err: &msg}), nil), "an error case asserts only the error")
	require.False(t, usable(ok(bad, proberuntime.HpResult{IsError: true}), nil), "a result that cannot be written")
	require.False(t, usable(ok(lit, proberuntime.HpResult{IsError: true, Err: &empty}), nil), "an empty error message")
	unstable := ok(lit, proberuntime.HpResult{IsError: true})
	unstable.stable = false
	require.False(t, usable(unstable, nil))
	p := "boom"
	panicked := &candidate{t: fn, stable: true, out: &proberuntime.HpOutcome{Status: proberuntime.HpStatusOK, Panic: &p}}
	require.True(t, usable(panicked, nil))
	require.Equal(t, "panic", outcomeClass(panicked))
	require.Equal(t, "error", outcomeClass(ok(bad, proberuntime.HpResult{IsError: true, Err: &msg})))
}
