package builtin

import (
	"go/types"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
)

// Bounds on mutated values.
const (
	maxMutatedString = 64
	maxMutatedSlice  = 8
)

// Fragments every string mutation may insert, besides the package's own.
var defaultFragments = []string{"0", "1", "9", "10", "a", "z", "A", " ", ".", "-", "+", "_", ",", ":", "/", "\t", "é"}

// mutate returns a changed copy of v, or v itself when nothing could change.
func (e *explorer) mutate(v *value) *value {
	if len(e.texts) > 0 && textual(v.typ) && e.rng.IntN(8) == 0 {
		if t := e.text(v.typ); t != nil {
			return t
		}
	}
	if e.rng.IntN(4) == 0 {
		if found, _ := e.found.At(v.typ).([]*value); len(found) > 0 && e.rng.IntN(3) != 0 {
			return e.pools.pick(found)
		}
		if pool, why := e.pools.get(v.typ); why == "" && len(pool) > 1 {
			return e.pools.pick(pool)
		}
	}
	switch v.kind {
	case proberuntime.HpKindLit:
		return e.mutateLit(v)
	case proberuntime.HpKindSlice:
		return e.mutateSlice(v)
	case proberuntime.HpKindArray, proberuntime.HpKindStruct, proberuntime.HpKindPtr, proberuntime.HpKindIface, proberuntime.HpKindCall, proberuntime.HpKindDeref, proberuntime.HpKindFunc:
		if len(v.elems) == 0 {
			break
		}
		c := v.clone()
		i := e.rng.IntN(len(c.elems))
		c.elems[i] = e.mutate(c.elems[i])
		return c
	case proberuntime.HpKindMap:
		return e.mutateMap(v)
	}
	if pool, why := e.pools.get(v.typ); why == "" && len(pool) > 0 {
		return e.pools.pick(pool)
	}
	return v
}

func (e *explorer) mutateLit(v *value) *value {
	b, ok := v.typ.Underlying().(*types.Basic)
	if !ok {
		return v
	}
	info := b.Info()
	switch {
	case info&types.IsString != 0:
		s := e.mutateString(v.lit)
		return &value{typ: v.typ, kind: v.kind, lit: s, src: quote(s)}
	case info&types.IsBoolean != 0:
		x := strconv.FormatBool(v.lit != "true")
		return &value{typ: v.typ, kind: v.kind, lit: x, src: x}
	case info&types.IsInteger != 0:
		return e.mutateInt(v, b)
	case info&types.IsFloat != 0:
		f, err := strconv.ParseFloat(v.lit, 64)
		if err != nil {
			return v
		}
		switch e.rng.IntN(5) {
		case 0:
			f *= 2
		case 1:
			f /= 2
		case 2:
			f = -f
		case 3:
			f++
		default:
			f = math.Trunc(f) + 0.5
		}
		if b.Kind() == types.Float32 {
			f = float64(float32(f))
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return v
		}
		return &value{typ: v.typ, kind: v.kind, lit: strconv.FormatFloat(f, 'g', -1, 64), src: floatSrc(f)}
	}
	return v
}

func (e *explorer) mutateInt(v *value, b *types.Basic) *value {
	n, ok := new(big.Int).SetString(v.lit, 10)
	if !ok {
		return v
	}
	switch e.rng.IntN(6) {
	case 0:
		n.Add(n, big.NewInt(1))
	case 1:
		n.Sub(n, big.NewInt(1))
	case 2:
		n.Neg(n)
	case 3:
		n.Mul(n, big.NewInt(2))
	case 4:
		n.Add(n, big.NewInt(int64(e.rng.IntN(21)-10)))
	default:
		if len(e.pools.lits.ints) > 0 {
			n.Set(e.pools.lits.ints[e.rng.IntN(len(e.pools.lits.ints))])
		}
	}
	return intValue(v, n, b)
}

// intValue is n as a value of v's integer type, or v when n is out of its
// range.
func intValue(v *value, n *big.Int, b *types.Basic) *value {
	lo, hi := intRange(b)
	if n.Cmp(lo) < 0 || n.Cmp(hi) > 0 {
		return v
	}
	src := n.String()
	if (isRune(v.typ) || v.typ == types.Universe.Lookup("byte").Type()) && n.IsInt64() && n.Int64() >= ' ' && n.Int64() < 0x7f {
		src = strconv.QuoteRune(rune(n.Int64()))
	}
	return &value{typ: v.typ, kind: v.kind, lit: n.String(), src: src}
}

// mutateString changes s the ways that reach new branches of parsers and
// formatters: inserting the package's own separators and keywords, deleting
// and replacing runes, changing digits and case, splicing.
func (e *explorer) mutateString(s string) string {
	r := []rune(s)
	frag := []rune(e.fragment())
	switch op := e.rng.IntN(8); {
	case op == 0 || len(r) == 0:
		i := e.rng.IntN(len(r) + 1)
		r = append(r[:i:i], append(frag, r[i:]...)...)
	case op == 1:
		i := e.rng.IntN(len(r))
		j := min(len(r), i+1+e.rng.IntN(3))
		r = append(r[:i:i], r[j:]...)
	case op == 2:
		i := e.rng.IntN(len(r))
		r = append(r[:i:i], append(frag, r[i+1:]...)...)
	case op == 3:
		r = append(r, frag...)
	case op == 4:
		i := e.rng.IntN(len(r))
		j := min(len(r), i+1+e.rng.IntN(4))
		r = append(r[:j:j], append(append([]rune(nil), r[i:j]...), r[j:]...)...)
	case op == 5:
		i := e.rng.IntN(len(r))
		switch c := r[i]; {
		case c >= '0' && c <= '9':
			r[i] = rune('0' + e.rng.IntN(10))
		case unicode.IsUpper(c):
			r[i] = unicode.ToLower(c)
		default:
			r[i] = unicode.ToUpper(c)
		}
	case op == 6:
		r = append([]rune(nil), frag...)
	default:
		other := []rune(e.fragment())
		i := e.rng.IntN(len(r) + 1)
		r = append(r[:i:i], other...)
	}
	out := string(r)
	for len(out) > maxMutatedString {
		_, size := utf8.DecodeLastRuneInString(out)
		out = out[:len(out)-size]
	}
	return out
}

// fragment picks a string to insert: a literal of the package or a
// default fragment.
func (e *explorer) fragment() string {
	if found, _ := e.found.At(types.Typ[types.String]).([]*value); len(found) > 0 && e.rng.IntN(4) == 0 {
		return e.pools.pick(found).lit
	}
	if n := len(e.fragments); n > 0 && e.rng.IntN(3) != 0 {
		return e.fragments[e.rng.IntN(n)]
	}
	return defaultFragments[e.rng.IntN(len(defaultFragments))]
}

func (e *explorer) mutateSlice(v *value) *value {
	s, ok := v.typ.Underlying().(*types.Slice)
	if !ok {
		return v
	}
	c := v.clone()
	elems, why := e.pools.get(s.Elem())
	switch op := e.rng.IntN(4); {
	case (op == 0 || len(c.elems) == 0) && why == "" && len(elems) > 0 && len(c.elems) < maxMutatedSlice:
		x := e.pools.pick(elems)
		if len(c.elems) > 0 && e.rng.IntN(2) == 0 {
			x = e.mutate(c.elems[e.rng.IntN(len(c.elems))])
		}
		i := e.rng.IntN(len(c.elems) + 1)
		c.elems = append(c.elems[:i:i], append([]*value{x}, c.elems[i:]...)...)
	case op == 1 && len(c.elems) > 0:
		i := e.rng.IntN(len(c.elems))
		c.elems = append(c.elems[:i:i], c.elems[i+1:]...)
	case len(c.elems) > 0:
		i := e.rng.IntN(len(c.elems))
		c.elems[i] = e.mutate(c.elems[i])
	}
	return c
}

func (e *explorer) mutateMap(v *value) *value {
	m, ok := v.typ.Underlying().(*types.Map)
	if !ok {
		return v
	}
	c := v.clone()
	keys, whyK := e.pools.get(m.Key())
	vals, whyV := e.pools.get(m.Elem())
	n := len(c.elems) / 2
	switch op := e.rng.IntN(3); {
	case (op == 0 || n == 0) && whyK == "" && whyV == "" && len(keys) > 0 && len(vals) > 0 && n < maxMutatedSlice:
		k := e.pools.pick(keys)
		for i := 0; i < len(c.elems); i += 2 {
			if c.elems[i].key() == k.key() {
				return v
			}
		}
		c.elems = append(c.elems, k, e.pools.pick(vals))
	case op == 1 && n > 0:
		i := 2 * e.rng.IntN(n)
		c.elems = append(c.elems[:i:i], c.elems[i+2:]...)
	case n > 0:
		i := 2*e.rng.IntN(n) + 1
		c.elems[i] = e.mutate(c.elems[i])
	}
	return c
}

// fragmentsOf are the package's short literals, for string mutation.
func fragmentsOf(l *literals) []string {
	var out []string
	for _, s := range l.strings {
		if s != "" && len(s) <= 12 && !strings.ContainsAny(s, "%\n") {
			out = append(out, s)
		}
	}
	for _, r := range l.runes {
		out = append(out, string(r))
	}
	out = append(out, l.composed...)
	return uniqueStrings(out)
}
