package builtin

import (
	"go/types"
	"math/big"
	"strconv"

	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
)

// Shrinking bounds.
const (
	shrinkPasses      = 3
	maxShrinkVariants = 24 // per case and pass
)

// shrinkable pairs a chosen case with the smaller variants of one pass.
type shrinkable struct {
	orig     *candidate
	variants []*candidate
}

// shrinkVariants makes smaller versions of c's arguments, one argument
// changed at a time: shorter strings and slices, numbers nearer zero,
// fewer struct fields.
func (e *explorer) shrinkVariants(c *candidate) []*candidate {
	var out []*candidate
	for i, a := range c.args {
		for _, s := range shrinkValue(a) {
			if len(out) >= maxShrinkVariants {
				return out
			}
			if c.t.params[i].recv && s.kind == proberuntime.HpKindZero && !isComposite(s.typ) {
				continue
			}
			args := append([]*value(nil), c.args...)
			args[i] = s
			if v := e.addCall(c.t, args, c.twice); v != nil {
				out = append(out, v)
			}
		}
	}
	return out
}

// shrinkValue lists smaller values than v, smallest change first.
func shrinkValue(v *value) []*value {
	var out []*value
	switch v.kind {
	case proberuntime.HpKindLit:
		b, ok := v.typ.Underlying().(*types.Basic)
		if !ok || v.typed {
			return nil
		}
		switch {
		case b.Info()&types.IsString != 0:
			r := []rune(v.lit)
			if len(r) == 0 {
				return nil
			}
			add := func(s string) {
				out = append(out, &value{typ: v.typ, kind: v.kind, lit: s, src: quote(s)})
			}
			if len(r) > 4 {
				add(string(r[:len(r)/2]))
				add(string(r[len(r)/2:]))
			}
			step := max(1, len(r)/12)
			for i := 0; i < len(r); i += step {
				add(string(append(r[:i:i], r[i+1:]...)))
			}
		case b.Info()&types.IsInteger != 0:
			n, ok := new(big.Int).SetString(v.lit, 10)
			if !ok || n.Sign() == 0 {
				return nil
			}
			for _, m := range []*big.Int{big.NewInt(0), new(big.Int).Quo(n, big.NewInt(2)), new(big.Int).Sub(n, big.NewInt(int64(n.Sign())))} {
				if m.CmpAbs(n) < 0 {
					src := m.String()
					if isRune(v.typ) || v.typ == types.Universe.Lookup("byte").Type() {
						if m.IsInt64() && m.Int64() >= ' ' && m.Int64() < 0x7f {
							src = strconv.QuoteRune(rune(m.Int64()))
						}
					}
					out = append(out, &value{typ: v.typ, kind: v.kind, lit: m.String(), src: src})
				}
			}
		}
	case proberuntime.HpKindSlice:
		for i := range v.elems {
			c := v.clone()
			c.elems = append(c.elems[:i:i], c.elems[i+1:]...)
			out = append(out, c)
		}
		for i, e := range v.elems {
			for _, s := range shrinkValue(e) {
				c := v.clone()
				c.elems[i] = s
				out = append(out, c)
				break
			}
		}
	case proberuntime.HpKindStruct:
		for i := range v.elems {
			c := v.clone()
			c.elems = append(c.elems[:i:i], c.elems[i+1:]...)
			c.names = append(c.names[:i:i], c.names[i+1:]...)
			out = append(out, c)
		}
	case proberuntime.HpKindMap:
		for i := 0; i+1 < len(v.elems); i += 2 {
			c := v.clone()
			c.elems = append(c.elems[:i:i], c.elems[i+2:]...)
			out = append(out, c)
		}
	case proberuntime.HpKindPtr, proberuntime.HpKindIface, proberuntime.HpKindCall, proberuntime.HpKindArray, proberuntime.HpKindDeref:
		for i, e := range v.elems {
			for _, s := range shrinkValue(e) {
				c := v.clone()
				c.elems[i] = s
				out = append(out, c)
			}
		}
	}
	return out
}

// keeps reports whether variant v can stand in for orig: as stable and
// checkable, with the same kind of outcome, reaching at least its blocks.
func keeps(orig, v *candidate, post []int) bool {
	if !usable(v, post) || outcomeClass(v) != outcomeClass(orig) {
		return false
	}
	reached := map[int]bool{}
	for _, b := range v.out.Cover {
		reached[b] = true
	}
	for _, b := range orig.out.Cover {
		if !reached[b] {
			return false
		}
	}
	return true
}
