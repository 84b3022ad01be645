package builtin

import (
	"bytes"
	"encoding/json"
	"go/types"
	"math/big"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/tools/go/types/typeutil"

	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
)

// Exploration sizes.
const (
	maxInitialPerTarget = 120
	randomInitial       = 24
	mutantsPerRound     = 360 // spread over the targets
	minMutants          = 8
	maxMutants          = 48
	maxFailures         = 3 // timeouts or crashes before a target is left alone
)

// candidate is one call of a target with built arguments.
type candidate struct {
	id   int
	t    *target
	args []*value
	post []int // arguments whose value after the call is recorded
	key  string

	out    *proberuntime.HpOutcome // from the in-order run
	stable bool                    // the reversed run saw the same outcome
	doc    bool                    // its arguments are the examples of the function's doc comment
	twice  bool                    // the same call is made once before the one asserted
	kills  []int                   // the code mutants under which its outcome changes
}

// explorer makes candidate calls: first from the pools, then by mutating
// the calls that reached new statements (feedback-directed, as Randoop and
// fuzzers do).
type explorer struct {
	pools     *pools
	rng       *rand.Rand
	fragments []string
	seen      map[string]bool
	next      int
	argPools  map[*target][][]*value
	corpus    map[*target][]*candidate
	failures  map[*target]int
	reached   map[*target]map[int]bool // blocks each target's calls reached
	// found are the arguments of corpus calls by type: inputs that reached
	// new code in one function are worth trying on the others.
	found typeutil.Map
	// texts are strings the package returned (String, Format, Marshal…)
	// and string arguments that reached new code: inputs its parsers
	// accept (Parse(x.String()), ParseBytes of what Parse took), tried on
	// every string and byte-slice parameter.
	texts     []string
	textsSeen map[string]bool
}

func newExplorer(p *pools, rng *rand.Rand) *explorer {
	return &explorer{pools: p, rng: rng, fragments: fragmentsOf(p.lits), seen: map[string]bool{},
		argPools: map[*target][][]*value{}, corpus: map[*target][]*candidate{}, failures: map[*target]int{},
		reached: map[*target]map[int]bool{}, textsSeen: map[string]bool{}}
}

// prepare builds the argument pools of t, or says why t cannot be driven.
func (e *explorer) prepare(t *target) string {
	pools := make([][]*value, len(t.params))
	for i, p := range t.params {
		vals, why := e.pools.get(p.typ)
		if why != "" {
			if p.recv {
				return "its receiver cannot be built: " + why
			}
			return why
		}
		if p.recv {
			vals = receivers(vals)
			if len(vals) == 0 {
				return "no value of its receiver type could be built (no constructor, no exported fields)"
			}
		}
		pools[i] = vals
	}
	e.argPools[t] = pools
	return ""
}

// receivers drops nil pointers: a method called on nil tells little.
func receivers(vals []*value) []*value {
	var out []*value
	for _, v := range vals {
		if v.kind == proberuntime.HpKindZero && !isComposite(v.typ) {
			continue
		}
		out = append(out, v)
	}
	return out
}

// add records a candidate unless the same call was made before.
func (e *explorer) add(t *target, args []*value) *candidate {
	return e.addCall(t, args, false)
}

// addCall records a candidate, made once before the asserted call when
// twice is set, unless the same was made before.
func (e *explorer) addCall(t *target, args []*value, twice bool) *candidate {
	var b strings.Builder
	b.WriteString(strconv.Itoa(t.funcIdx))
	if twice {
		b.WriteString("x2")
	}
	for _, a := range args {
		b.WriteByte(';')
		a.writeKey(&b)
	}
	key := b.String()
	if e.seen[key] {
		return nil
	}
	e.seen[key] = true
	c := &candidate{id: e.next, t: t, args: args, key: key, twice: twice}
	e.next++
	for i, p := range t.params {
		if p.mutable {
			c.post = append(c.post, i)
		}
	}
	return c
}

// initial makes the first calls of t: typical arguments, each parameter
// walked through its pool with the others typical, then random mixes.
func (e *explorer) initial(t *target) []*candidate {
	pools := e.argPools[t]
	var out []*candidate
	push := func(args []*value) {
		if len(out) < maxInitialPerTarget {
			if c := e.add(t, args); c != nil {
				out = append(out, c)
			}
		}
	}
	base := make([]*value, len(pools))
	for i, p := range pools {
		base[i] = typical(p)
	}
	ownDoc := docExamples(t)
	if len(ownDoc) > 0 {
		push(base)
		base = append([]*value(nil), base...)
		for i, v := range ownDoc {
			if v != nil {
				base[i] = v
			}
		}
		push(base)
		if len(out) > 0 {
			out[len(out)-1].doc = true
		}
	} else {
		push(base)
	}
	for i, p := range pools {
		for _, v := range p {
			args := append([]*value(nil), base...)
			args[i] = v
			push(args)
		}
	}
	// Boundary pairs come on top of the cap: at most five per pair of
	// parameters, and the walk above is not cut short for them.
	for _, pair := range boundaryPairs(t, pools) {
		args := append([]*value(nil), base...)
		args[pair.i], args[pair.j] = pair.a, pair.b
		if c := e.add(t, args); c != nil {
			out = append(out, c)
		}
	}
	// A method of a pointer receiver may remember something between
	// calls (a cache, a cursor): the first calls again, made twice.
	if twiceCalls(t) {
		for _, c := range append([]*candidate(nil), out[:min(len(out), maxTwiceInitial)]...) {
			if tc := e.addCall(t, c.args, true); tc != nil {
				out = append(out, tc)
			}
		}
	}
	for n := 0; n < randomInitial; n++ {
		args := make([]*value, len(pools))
		for i, p := range pools {
			args[i] = e.pools.pick(p)
		}
		push(args)
	}
	return out
}

// maxTwiceInitial bounds the first calls of a method made again twice.
const maxTwiceInitial = 8

// twiceCalls reports whether calling t twice in a row may differ from
// calling it once: a method of a pointer receiver.
func twiceCalls(t *target) bool {
	return t.isMethod() && t.params[0].mutable
}

// argPair puts a and b in the parameters i and j of a call.
type argPair struct {
	i, j int
	a, b *value
}

// Values per parameter that boundary pairs are made of.
const pairValues = 3

// boundaryPairs are the calls a comparison (Compare, Less, Equal, Max,
// a method taking a value of its receiver's type) needs to show each of
// its outcomes: for two parameters of the same type, equal, less and
// greater pairs of a few values of their pool — (a, a), (a, b), (b, a),
// (b, c), (c, b) with a < b < c for numbers and strings, doc examples
// first, since those are values the function accepts.
func boundaryPairs(t *target, pools [][]*value) []argPair {
	var out []argPair
	for i := range t.params {
		for j := i + 1; j < len(t.params); j++ {
			if t.params[i].variadic || t.params[j].variadic || !types.Identical(t.params[i].typ, t.params[j].typ) {
				continue
			}
			vals, first := pairCandidates(pools[i])
			if len(vals) < 2 {
				continue
			}
			out = append(out, argPair{i: i, j: j, a: first, b: first})
			for k := 0; k+1 < len(vals); k++ {
				out = append(out, argPair{i: i, j: j, a: vals[k], b: vals[k+1]}, argPair{i: i, j: j, a: vals[k+1], b: vals[k]})
			}
		}
	}
	return out
}

// pairCandidates picks up to pairValues distinct values of a pool: doc
// examples, then constructed values, then the rest, zero values last;
// numbers and strings are then put in ascending order. first is the
// value picked first, the one an equal pair is made of.
func pairCandidates(pool []*value) (vals []*value, first *value) {
	rank := func(v *value) int {
		switch {
		case v.doc:
			return 0
		case constructed(v):
			return 1
		case v.kind == proberuntime.HpKindZero || v.lit == "" || v.lit == "0" || v.lit == "false":
			return 3
		}
		return 2
	}
	var out []*value
	for r := 0; r <= 3 && len(out) < pairValues; r++ {
		for _, v := range pool {
			if rank(v) == r && len(out) < pairValues {
				out = append(out, v)
			}
		}
	}
	if len(out) < 2 {
		return out, nil
	}
	first = out[0]
	b, ok := out[0].typ.Underlying().(*types.Basic)
	if !ok {
		return out, first
	}
	switch info := b.Info(); {
	case info&types.IsString != 0:
		sort.SliceStable(out, func(x, y int) bool { return out[x].lit < out[y].lit })
	case info&(types.IsInteger|types.IsFloat) != 0:
		num := func(v *value) *big.Float {
			f, _, err := big.ParseFloat(v.lit, 10, 128, big.ToNearestEven)
			if err != nil {
				return new(big.Float)
			}
			return f
		}
		sort.SliceStable(out, func(x, y int) bool { return num(out[x]).Cmp(num(out[y])) < 0 })
	}
	return out, first
}

// typical is the value a parameter takes while others vary: a
// constructed value when there is one, one whose constructor cannot fail
// first (a failing constructor fails every call it is part of), else the
// first non-zero value.
func typical(pool []*value) *value {
	var fallible *value
	for _, v := range pool {
		if !constructed(v) {
			continue
		}
		if !constructorOf(v).must {
			return v
		}
		if fallible == nil {
			fallible = v
		}
	}
	if fallible != nil {
		return fallible
	}
	return pool[min(1, len(pool)-1)]
}

// constructorOf is the constructor a constructed value calls.
func constructorOf(v *value) *function {
	if v.kind == proberuntime.HpKindCall {
		return v.fn
	}
	return v.elems[0].fn
}

// docExamples assigns the numbers and quoted strings of t's doc comment to
// its basic parameters in order ("WithTax(cents, ratePermille) ... (200 =
// 20 %)" gives 200 and 20); nil where the comment has none.
func docExamples(t *target) []*value {
	if t.doc == "" {
		return nil
	}
	l := &literals{}
	mineText(l, t.doc)
	out := make([]*value, len(t.params))
	found := false
	var ni, ns, nf int
	for i, p := range t.params {
		b, ok := p.typ.Underlying().(*types.Basic)
		if !ok || p.recv {
			continue
		}
		var v *value
		switch {
		case b.Info()&types.IsString != 0 && ns < len(l.docStrings):
			s := l.docStrings[ns]
			ns++
			v = &value{typ: p.typ, kind: proberuntime.HpKindLit, lit: s, src: quote(s)}
		case b.Info()&types.IsInteger != 0 && ni < len(l.docInts):
			n := l.docInts[ni]
			ni++
			if lo, hi := intRange(b); n.Cmp(lo) >= 0 && n.Cmp(hi) <= 0 {
				v = &value{typ: p.typ, kind: proberuntime.HpKindLit, lit: n.String(), src: n.String()}
			}
		case b.Info()&types.IsFloat != 0 && nf < len(l.docFloats)+len(l.docInts):
			var f float64
			if nf < len(l.docFloats) {
				f = l.docFloats[nf]
			} else {
				f = float64(l.docInts[nf-len(l.docFloats)].Int64())
			}
			nf++
			v = &value{typ: p.typ, kind: proberuntime.HpKindLit, lit: strconv.FormatFloat(f, 'g', -1, 64), src: floatSrc(f)}
		}
		if v != nil {
			v.doc = true
			out[i] = v
			found = true
		}
	}
	if !found {
		return nil
	}
	return out
}

// mutants makes the next round's calls of t from its corpus.
func (e *explorer) mutants(t *target, n int) []*candidate {
	parents := e.corpus[t]
	if len(parents) == 0 || len(e.argPools[t]) == 0 {
		return nil
	}
	var out []*candidate
	for tries := 0; len(out) < n && tries < 4*n; tries++ {
		if c := e.child(parents[e.rng.IntN(len(parents))]); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// child makes a call of parent's target from parent's arguments, one or two
// of them changed or two made equal; nil when that call was made before.
func (e *explorer) child(parent *candidate) *candidate {
	t := parent.t
	args := append([]*value(nil), parent.args...)
	if len(args) == 0 {
		return nil
	}
	if i, j := e.rng.IntN(len(args)), e.rng.IntN(len(args)); i != j && e.rng.IntN(4) == 0 &&
		types.Identical(args[i].typ, args[j].typ) {
		// Equal arguments, then maybe one changed: the way into the
		// deeper branches of comparisons.
		args[j] = args[i]
		if e.rng.IntN(2) == 0 {
			args[j] = e.mutate(args[j])
		}
		return e.add(t, args)
	}
	twice := parent.twice
	if twiceCalls(t) && e.rng.IntN(8) == 0 {
		twice = !twice
	} else {
		for k := 1 + e.rng.IntN(2); k > 0; k-- {
			i := e.rng.IntN(len(args))
			args[i] = e.mutate(args[i])
			if t.params[i].recv && args[i].kind == proberuntime.HpKindZero && !isComposite(args[i].typ) {
				args[i] = parent.args[i]
			}
		}
	}
	return e.addCall(t, args, twice)
}

// admit adds a stable call to its target's corpus when it reached blocks
// no earlier call of that target reached (or when the corpus is empty).
func (e *explorer) admit(c *candidate) {
	if c.out.Panic == nil {
		for _, r := range c.out.Results {
			if r.Literal != nil && r.Literal.Bad == "" {
				if s, ok := literalText(r.Literal.Src); ok {
					e.addText(s)
				}
			}
		}
	}
	seen := e.reached[c.t]
	if seen == nil {
		seen = map[int]bool{}
		e.reached[c.t] = seen
	}
	novel := false
	for _, b := range c.out.Cover {
		if !seen[b] {
			seen[b] = true
			novel = true
		}
	}
	if !novel && len(e.corpus[c.t]) > 0 {
		return
	}
	e.corpus[c.t] = append(e.corpus[c.t], c)
	for _, a := range c.args {
		if a.kind == proberuntime.HpKindZero {
			continue
		}
		if s, ok := valueText(a); ok {
			e.addText(s)
		}
		vals, _ := e.found.At(a.typ).([]*value)
		e.found.Set(a.typ, append(vals, a))
	}
}

// sameOutcome reports whether two runs of a case saw the same thing.
func sameOutcome(a, b *proberuntime.HpOutcome) bool {
	if a == nil || b == nil {
		return false
	}
	x, y := *a, *b
	x.Cover, y.Cover = nil, nil
	bx, err1 := json.Marshal(x)
	by, err2 := json.Marshal(y)
	return err1 == nil && err2 == nil && bytes.Equal(bx, by)
}

// Bounds on the texts kept for other parameters.
const (
	maxTexts   = 64
	maxTextLen = 64
)

func (e *explorer) addText(s string) {
	if s == "" || len(s) > maxTextLen || e.textsSeen[s] || len(e.texts) >= maxTexts {
		return
	}
	e.textsSeen[s] = true
	e.texts = append(e.texts, s)
}

// text returns one of the texts as a value of t (a string or byte-slice
// type), or nil.
func (e *explorer) text(t types.Type) *value {
	if len(e.texts) == 0 {
		return nil
	}
	s := e.texts[e.rng.IntN(len(e.texts))]
	if isString(t) {
		return &value{typ: t, kind: proberuntime.HpKindLit, lit: s, src: quote(s)}
	}
	if sl, ok := t.Underlying().(*types.Slice); ok {
		if b, ok := sl.Elem().Underlying().(*types.Basic); ok && b.Kind() == types.Uint8 {
			return bytesValue(t, sl.Elem(), s)
		}
	}
	return nil
}

// textual reports whether t is a string or byte-slice type.
func textual(t types.Type) bool {
	if isString(t) {
		return true
	}
	sl, ok := t.Underlying().(*types.Slice)
	if !ok {
		return false
	}
	b, ok := sl.Elem().Underlying().(*types.Basic)
	return ok && b.Kind() == types.Uint8
}

// literalText reads the text of a string or byte-slice literal the probe
// wrote: "abc", `a"b`, []byte("abc"), Name("abc").
func literalText(src string) (string, bool) {
	if i := strings.IndexByte(src, '('); i > 0 && strings.HasSuffix(src, ")") && !strings.ContainsAny(src[:i], "\"`") {
		src = src[i+1 : len(src)-1]
	}
	s, err := strconv.Unquote(src)
	return s, err == nil
}

// valueText is the text of a string value or a byte slice of literals.
func valueText(v *value) (string, bool) {
	if v.kind == proberuntime.HpKindLit && isString(v.typ) {
		return v.lit, true
	}
	if v.kind == proberuntime.HpKindSlice {
		if s, ok := bytesText(v); ok {
			t, err := strconv.Unquote(s)
			return t, err == nil
		}
	}
	return "", false
}
