package builtin

import (
	"bytes"
	"encoding/json"
	"go/types"
	"math/rand/v2"
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
}

func newExplorer(p *pools, rng *rand.Rand) *explorer {
	return &explorer{pools: p, rng: rng, fragments: fragmentsOf(p.lits), seen: map[string]bool{},
		argPools: map[*target][][]*value{}, corpus: map[*target][]*candidate{}, failures: map[*target]int{},
		reached: map[*target]map[int]bool{}}
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
	var b strings.Builder
	b.WriteString(strconv.Itoa(t.funcIdx))
	for _, a := range args {
		b.WriteByte(';')
		a.writeKey(&b)
	}
	key := b.String()
	if e.seen[key] {
		return nil
	}
	e.seen[key] = true
	c := &candidate{id: e.next, t: t, args: args, key: key}
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
	for n := 0; n < randomInitial; n++ {
		args := make([]*value, len(pools))
		for i, p := range pools {
			args[i] = e.pools.pick(p)
		}
		push(args)
	}
	return out
}

// typical is the value a parameter takes while others vary: a
// constructed value when there is one, else the first non-zero value.
func typical(pool []*value) *value {
	for _, v := range pool {
		if v.kind == proberuntime.HpKindCall {
			return v
		}
	}
	return pool[min(1, len(pool)-1)]
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
		parent := parents[e.rng.IntN(len(parents))]
		args := append([]*value(nil), parent.args...)
		if i, j := e.rng.IntN(len(args)), e.rng.IntN(len(args)); i != j && e.rng.IntN(4) == 0 &&
			types.Identical(args[i].typ, args[j].typ) {
			// Equal arguments, then maybe one changed: the way into the
			// deeper branches of comparisons.
			args[j] = args[i]
			if e.rng.IntN(2) == 0 {
				args[j] = e.mutate(args[j])
			}
			if c := e.add(t, args); c != nil {
				out = append(out, c)
			}
			continue
		}
		for k := 1 + e.rng.IntN(2); k > 0; k-- {
			i := e.rng.IntN(len(args))
			args[i] = e.mutate(args[i])
			if t.params[i].recv && args[i].kind == proberuntime.HpKindZero && !isComposite(args[i].typ) {
				args[i] = parent.args[i]
			}
		}
		if c := e.add(t, args); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// admit adds a stable call to its target's corpus when it reached blocks
// no earlier call of that target reached (or when the corpus is empty).
func (e *explorer) admit(c *candidate) {
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
