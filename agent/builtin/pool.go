package builtin

import (
	"go/constant"
	"go/types"
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/tools/go/types/typeutil"

	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
)

// Pool sizes.
const (
	maxPool     = 48 // values per type
	maxVariants = 4  // random composite values per type
	maxArrayLen = 16 // longer arrays are only ever zero
	// constructor calls per string parameter with composed inputs
	maxComposedCtorCalls = 6
)

// Strings every string pool gets after the package's own literals.
var defaultStrings = []string{"", "a", "abc", "Hello, World", " ", "0", "1", "-1", "42", "3.14", "x_y-z", "日本"}

// pools builds, per type, a small ordered set of values to call functions
// with: zero and boundary values, the package's own literals and
// constants, small composites of those, and values made by the package's
// constructors.
type pools struct {
	pkg   *types.Package
	lits  *literals
	rng   *rand.Rand
	types *typeTable
	funcs *funcTable

	cache    typeutil.Map // types.Type → *poolEntry
	building typeutil.Map // types.Type → true while its pool is built
	ctors    []*function  // the package's constructors
	ctorOut  []types.Type // their result types, parallel to ctors
	named    []types.Type // the package's named non-interface types, for interfaces
}

type poolEntry struct {
	vals   []*value
	reason string // why values of the type cannot be built; vals is then empty
}

func newPools(pkg *types.Package, lits *literals, rng *rand.Rand, tt *typeTable, ft *funcTable) *pools {
	p := &pools{pkg: pkg, lits: lits, rng: rng, types: tt, funcs: ft}
	scope := pkg.Scope()
	names := scope.Names() // sorted
	var ctors []*types.Func
	for _, n := range names {
		obj := scope.Lookup(n)
		switch o := obj.(type) {
		case *types.TypeName:
			if _, isIface := o.Type().Underlying().(*types.Interface); !isIface && !o.IsAlias() {
				if named, ok := o.Type().(*types.Named); ok && named.TypeParams().Len() == 0 {
					p.named = append(p.named, o.Type())
				}
			}
		case *types.Func:
			if o.Exported() && o.Signature().TypeParams().Len() == 0 && ctorResult(pkg, o.Signature()) != nil {
				ctors = append(ctors, o)
			}
		}
	}
	// New... first, then the others, each in source order.
	sort.SliceStable(ctors, func(i, j int) bool {
		ni, nj := strings.HasPrefix(ctors[i].Name(), "New"), strings.HasPrefix(ctors[j].Name(), "New")
		if ni != nj {
			return ni
		}
		return ctors[i].Pos() < ctors[j].Pos()
	})
	for _, c := range ctors {
		sig := c.Signature()
		f := &function{idx: ft.add(nil, c.Name()), expr: c.Name(), sig: sig, must: sig.Results().Len() == 2}
		if f.must {
			f.helper = "must" + c.Name()
		}
		p.ctors = append(p.ctors, f)
		p.ctorOut = append(p.ctorOut, ctorResult(pkg, sig))
	}
	return p
}

// ctorResult returns T when sig returns T, *T, (T, error) or (*T, error)
// for a named type T of pkg.
func ctorResult(pkg *types.Package, sig *types.Signature) types.Type {
	r := sig.Results()
	if r.Len() == 0 || r.Len() > 2 || r.Len() == 2 && !isError(r.At(1).Type()) {
		return nil
	}
	t := r.At(0).Type()
	base := t
	if ptr, ok := t.(*types.Pointer); ok {
		base = ptr.Elem()
	}
	named, ok := base.(*types.Named)
	if !ok || named.Obj().Pkg() != pkg {
		return nil
	}
	if _, isIface := named.Underlying().(*types.Interface); isIface {
		return nil
	}
	return t
}

// get returns the pool of t, or why values of t cannot be built.
func (p *pools) get(t types.Type) ([]*value, string) {
	if e, ok := p.cache.At(t).(*poolEntry); ok {
		return e.vals, e.reason
	}
	if p.building.At(t) != nil {
		// A type that contains itself: inside, only its zero value.
		return []*value{p.zero(t)}, ""
	}
	p.building.Set(t, true)
	vals, reason := p.build(t)
	p.building.Delete(t)
	vals = dedupe(vals)
	if len(vals) > maxPool {
		vals = vals[:maxPool]
	}
	if reason != "" {
		vals = nil
	}
	for _, v := range vals {
		p.indexTypes(v)
	}
	p.cache.Set(t, &poolEntry{vals: vals, reason: reason})
	return vals, reason
}

// indexTypes numbers the types of v and of the values it is built from,
// for the probe's type table: a constructor's result may be of a type whose
// own pool was never asked for.
func (p *pools) indexTypes(v *value) {
	p.types.index(v.typ)
	for _, e := range v.elems {
		p.indexTypes(e)
	}
}

func (p *pools) build(t types.Type) ([]*value, string) {
	if why := unreachableType(p.pkg, t); why != "" {
		return nil, why
	}
	var vals []*value
	switch u := t.Underlying().(type) {
	case *types.Basic:
		vals = p.basic(t, u)
		if len(vals) == 0 {
			return nil, "values of type " + t.String() + " cannot be made up"
		}
	case *types.Slice:
		return p.slice(t, u)
	case *types.Array:
		vals, why := p.array(t, u)
		if why != "" {
			return nil, why
		}
		return append(vals, p.fromCtors(t)...), ""
	case *types.Map:
		vals, why := p.mapVals(t, u)
		if why != "" {
			return nil, why
		}
		return append(vals, p.fromCtors(t)...), ""
	case *types.Struct:
		vals = p.structVals(t, u)
	case *types.Pointer:
		vals = p.pointer(t, u)
	case *types.Interface:
		return p.iface(t, u)
	case *types.Signature:
		return p.stubs(t, u)
	case *types.Chan:
		return nil, "it takes a channel (" + t.String() + "), which needs a concurrent test"
	default:
		return nil, "values of type " + t.String() + " cannot be made up"
	}
	vals = append(vals, p.fromCtors(t)...)
	return vals, ""
}

// unreachableType says why a test of pkg cannot name t, or "".
func unreachableType(pkg *types.Package, t types.Type) string {
	var why string
	var walk func(t types.Type, depth int)
	walk = func(t types.Type, depth int) {
		if why != "" || depth > 8 {
			return
		}
		switch x := t.(type) {
		case *types.Named:
			obj := x.Obj()
			if obj.Pkg() != nil && obj.Pkg() != pkg && !obj.Exported() {
				why = "type " + t.String() + " is unexported in another package"
			}
			if obj.Pkg() != nil && obj.Pkg() != pkg && obj.Pkg().Name() == "main" {
				why = "type " + t.String() + " belongs to a main package"
			}
			if x.TypeArgs().Len() > 0 {
				why = "generic type " + t.String() + " is not supported"
			}
		case *types.TypeParam:
			why = "generic code is not supported"
		case *types.Pointer:
			walk(x.Elem(), depth+1)
		case *types.Slice:
			walk(x.Elem(), depth+1)
		case *types.Array:
			walk(x.Elem(), depth+1)
		case *types.Map:
			walk(x.Key(), depth+1)
			walk(x.Elem(), depth+1)
		}
	}
	walk(types.Unalias(t), 0)
	return why
}

func (p *pools) zero(t types.Type) *value {
	return &value{typ: t, kind: proberuntime.HpKindZero}
}

func (p *pools) basic(t types.Type, b *types.Basic) []*value {
	var vals []*value
	// Constants of exactly this type come first, by name.
	for _, c := range p.lits.consts {
		if types.Identical(c.obj.Type(), t) {
			if lit, ok := constLit(c.obj.Val(), b); ok {
				vals = append(vals, &value{typ: t, kind: proberuntime.HpKindLit, lit: lit, src: c.obj.Name(),
					typed: c.obj.Type() != types.Typ[types.UntypedInt]})
			}
		}
	}
	info := b.Info()
	switch {
	case info&types.IsBoolean != 0:
		vals = append(vals, p.lit(t, "false", "false"), p.lit(t, "true", "true"))
	case info&types.IsString != 0:
		doc := map[string]bool{}
		for _, s := range p.lits.docStrings {
			doc[s] = true
		}
		for _, s := range p.stringPool() {
			v := p.lit(t, s, quote(s))
			v.doc = doc[s]
			vals = append(vals, v)
		}
	case info&types.IsInteger != 0:
		vals = append(vals, p.ints(t, b)...)
	case info&types.IsFloat != 0:
		doc := map[float64]bool{}
		for _, f := range p.lits.docFloats {
			doc[f] = true
		}
		for _, n := range p.lits.docInts {
			if n.IsInt64() {
				doc[float64(n.Int64())] = true
			}
		}
		for _, f := range p.floatPool() {
			if b.Kind() == types.Float32 && float64(float32(f)) != f {
				continue
			}
			v := p.lit(t, strconv.FormatFloat(f, 'g', -1, 64), floatSrc(f))
			v.doc = doc[f]
			vals = append(vals, v)
		}
	case info&types.IsComplex != 0:
		vals = append(vals, p.lit(t, "(0+0i)", "0"), p.lit(t, "(1-1i)", "complex(1, -1)"), p.lit(t, "(0.5+2i)", "complex(0.5, 2)"))
	}
	return vals
}

func (p *pools) lit(t types.Type, lit, src string) *value {
	return &value{typ: t, kind: proberuntime.HpKindLit, lit: lit, src: src}
}

// constLit writes a constant's value as the probe parses it for kind b.
func constLit(v constant.Value, b *types.Basic) (string, bool) {
	switch {
	case b.Info()&types.IsString != 0 && v.Kind() == constant.String:
		return constant.StringVal(v), true
	case b.Info()&types.IsBoolean != 0 && v.Kind() == constant.Bool:
		return strconv.FormatBool(constant.BoolVal(v)), true
	case b.Info()&types.IsInteger != 0 && v.Kind() == constant.Int:
		return v.ExactString(), true
	case b.Info()&types.IsFloat != 0 && (v.Kind() == constant.Float || v.Kind() == constant.Int):
		f, _ := constant.Float64Val(v)
		return strconv.FormatFloat(f, 'g', -1, 64), true
	}
	return "", false
}

// stringPool is the package's string literals and the strings its
// comments quote, then common strings.
func (p *pools) stringPool() []string {
	out := []string{""}
	out = append(out, p.lits.docStrings...)
	// The first literals, then the composed inputs, then the rest: a pool
	// is cut at maxPool values, and a parser needs both kinds.
	n := min(len(p.lits.strings), maxComposedPool)
	out = append(out, p.lits.strings[:n]...)
	out = append(out, p.lits.composed[:min(len(p.lits.composed), maxComposedPool)]...)
	out = append(out, p.lits.strings[n:]...)
	out = append(out, defaultStrings...)
	return uniqueStrings(out)
}

func (p *pools) floatPool() []float64 {
	out := []float64{0, 1, -1, 0.5, 2.5, -0.25, 100, 1e-9, 1e9}
	out = append(out, p.lits.docFloats...)
	out = append(out, p.lits.floats...)
	for _, n := range append(append([]*big.Int(nil), p.lits.docInts...), p.lits.ints...) {
		if n.IsInt64() && n.Int64() < 1<<20 && n.Int64() > -1<<20 {
			out = append(out, float64(n.Int64()))
		}
	}
	return uniqueFloats(out)
}

func floatSrc(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eIN") {
		s += ".0"
	}
	return s
}

// ints are zero and boundary values, the package's integer literals (and
// one either side) and the type's limits; for a package that works in
// decimal digits, the numbers of nines.
func (p *pools) ints(t types.Type, b *types.Basic) []*value {
	lo, hi := intRange(b)
	chars := isRune(t) || t == types.Universe.Lookup("byte").Type()
	var cands []*big.Int
	add := func(n int64) { cands = append(cands, big.NewInt(n)) }
	if chars {
		for _, r := range p.lits.runes {
			add(int64(r))
		}
		for _, r := range "a0 Z" {
			add(int64(r))
		}
	}
	for _, n := range []int64{0, 1, -1, 2, 3, 10, 100} {
		add(n)
	}
	// A package that works with 10 counts or rounds decimal digits: the
	// numbers just below a power of ten are where a digit count changes
	// and rounding carries into a new digit (9.996 → 10.0).
	if containsInt(p.lits.ints, big.NewInt(10)) {
		for _, n := range []int64{9, 99, 999, 9999, 99999, 999999} {
			add(n)
		}
	}
	doc := map[string]bool{}
	for _, n := range p.lits.docInts {
		doc[n.String()] = true
		cands = append(cands, n)
	}
	for _, n := range p.lits.ints {
		cands = append(cands, n, new(big.Int).Add(n, big.NewInt(1)), new(big.Int).Sub(n, big.NewInt(1)))
	}
	cands = append(cands, lo, hi)
	var vals []*value
	for _, n := range cands {
		if n.Cmp(lo) < 0 || n.Cmp(hi) > 0 {
			continue
		}
		src := n.String()
		var needs string
		switch {
		case chars && n.IsInt64() && n.Int64() >= ' ' && n.Int64() < 0x7f:
			src = strconv.QuoteRune(rune32(n.Int64()))
		case n.Cmp(hi) == 0 && n.BitLen() > 16 && limitName(b) != "":
			src, needs = "math.Max"+limitName(b), "math"
		case n.Cmp(lo) == 0 && n.Sign() < 0 && n.BitLen() > 16 && limitName(b) != "":
			src, needs = "math.Min"+limitName(b), "math"
		}
		v := p.lit(t, n.String(), src)
		v.needs = needs
		v.doc = doc[n.String()]
		vals = append(vals, v)
	}
	return vals
}

func rune32(n int64) rune { return rune(n) }

// intRange is the range of an integer kind.
func intRange(b *types.Basic) (lo, hi *big.Int) {
	bits := map[types.BasicKind]uint{
		types.Int: 64, types.Int8: 8, types.Int16: 16, types.Int32: 32, types.Int64: 64,
		types.Uint: 64, types.Uint8: 8, types.Uint16: 16, types.Uint32: 32, types.Uint64: 64, types.Uintptr: 64,
		types.UntypedInt: 64, types.UntypedRune: 32,
	}[b.Kind()]
	if bits == 0 {
		bits = 64
	}
	one := big.NewInt(1)
	if b.Info()&types.IsUnsigned != 0 {
		return big.NewInt(0), new(big.Int).Sub(new(big.Int).Lsh(one, bits), one)
	}
	hi = new(big.Int).Sub(new(big.Int).Lsh(one, bits-1), one)
	lo = new(big.Int).Neg(new(big.Int).Lsh(one, bits-1))
	return lo, hi
}

// limitName names the limits of b in package math: "Int64" for
// math.MaxInt64 and math.MinInt64; "" when math has none.
func limitName(b *types.Basic) string {
	return map[types.BasicKind]string{
		types.Int: "Int", types.Int8: "Int8", types.Int16: "Int16", types.Int32: "Int32", types.Int64: "Int64",
		types.Uint: "Uint", types.Uint8: "Uint8", types.Uint16: "Uint16", types.Uint32: "Uint32", types.Uint64: "Uint64",
	}[b.Kind()]
}

func (p *pools) slice(t types.Type, s *types.Slice) ([]*value, string) {
	elems, why := p.get(s.Elem())
	if why != "" {
		return nil, why
	}
	vals := []*value{p.zero(t), {typ: t, kind: proberuntime.HpKindSlice}}
	if b, ok := s.Elem().Underlying().(*types.Basic); ok && b.Kind() == types.Uint8 {
		for _, str := range p.stringPool()[1:] {
			if len(vals) >= 10 {
				break
			}
			vals = append(vals, bytesValue(t, s.Elem(), str))
		}
	}
	for n := 1; n <= maxVariants && len(elems) > 0; n++ {
		v := &value{typ: t, kind: proberuntime.HpKindSlice}
		for i := 0; i < 1+(n-1)%3; i++ {
			v.elems = append(v.elems, p.pick(elems))
		}
		vals = append(vals, v)
	}
	return append(vals, p.fromCtors(t)...), ""
}

// bytesValue is a byte slice holding s.
func bytesValue(t, elem types.Type, s string) *value {
	v := &value{typ: t, kind: proberuntime.HpKindSlice}
	for i := 0; i < len(s); i++ {
		v.elems = append(v.elems, &value{typ: elem, kind: proberuntime.HpKindLit, lit: strconv.Itoa(int(s[i])), src: strconv.Itoa(int(s[i]))})
	}
	return v
}

func (p *pools) array(t types.Type, a *types.Array) ([]*value, string) {
	vals := []*value{p.zero(t)}
	if a.Len() > maxArrayLen || a.Len() == 0 {
		return vals, ""
	}
	elems, why := p.get(a.Elem())
	if why != "" {
		return nil, why
	}
	for n := 0; n < 2 && len(elems) > 0; n++ {
		v := &value{typ: t, kind: proberuntime.HpKindArray}
		for i := int64(0); i < a.Len(); i++ {
			v.elems = append(v.elems, p.pick(elems))
		}
		vals = append(vals, v)
	}
	return vals, ""
}

func (p *pools) mapVals(t types.Type, m *types.Map) ([]*value, string) {
	keys, why := p.get(m.Key())
	if why != "" {
		return nil, why
	}
	elems, why := p.get(m.Elem())
	if why != "" {
		return nil, why
	}
	vals := []*value{p.zero(t), {typ: t, kind: proberuntime.HpKindMap}}
	for n := 1; n <= 3 && len(keys) > 0 && len(elems) > 0; n++ {
		v := &value{typ: t, kind: proberuntime.HpKindMap}
		seen := map[string]bool{}
		for i := 0; i < n; i++ {
			k := p.pick(keys)
			if k.kind != proberuntime.HpKindLit || seen[k.lit] {
				continue
			}
			seen[k.lit] = true
			v.elems = append(v.elems, k, p.pick(elems))
		}
		vals = append(vals, v)
	}
	return vals, ""
}

// structVals are the zero value and a few values with random exported
// fields (all fields for an unnamed struct type).
func (p *pools) structVals(t types.Type, s *types.Struct) []*value {
	vals := []*value{p.zero(t)}
	_, isNamed := t.(*types.Named)
	var fields []*types.Var
	var fieldVals [][]*value
	for i := 0; i < s.NumFields(); i++ {
		f := s.Field(i)
		if isNamed && !f.Exported() || f.Embedded() {
			continue
		}
		fv, why := p.get(f.Type())
		if why != "" || len(fv) == 0 {
			continue
		}
		fields = append(fields, f)
		fieldVals = append(fieldVals, fv)
	}
	if len(fields) == 0 {
		return vals
	}
	for n := 0; n < maxVariants; n++ {
		v := &value{typ: t, kind: proberuntime.HpKindStruct}
		for i, f := range fields {
			x := p.pick(fieldVals[i])
			if x.kind == proberuntime.HpKindZero {
				continue
			}
			v.names = append(v.names, f.Name())
			v.elems = append(v.elems, x)
		}
		vals = append(vals, v)
	}
	return vals
}

func (p *pools) pointer(t types.Type, ptr *types.Pointer) []*value {
	vals := []*value{p.zero(t)}
	switch ptr.Elem().Underlying().(type) {
	case *types.Struct, *types.Array, *types.Slice, *types.Map:
	default:
		return vals
	}
	elems, why := p.get(ptr.Elem())
	if why != "" {
		return vals
	}
	for _, e := range elems {
		if constructed(e) || e.kind == proberuntime.HpKindZero && !isComposite(e.typ) {
			continue
		}
		vals = append(vals, &value{typ: t, kind: proberuntime.HpKindPtr, elems: []*value{e}})
		if len(vals) > maxVariants+1 {
			break
		}
	}
	return vals
}

func isComposite(t types.Type) bool {
	switch t.Underlying().(type) {
	case *types.Struct, *types.Array:
		return true
	}
	return false
}

// iface builds interface values: nil, and values of the types known to
// implement it.
func (p *pools) iface(t types.Type, it *types.Interface) ([]*value, string) {
	vals := []*value{p.zero(t)}
	wrap := func(v *value) *value {
		return &value{typ: t, kind: proberuntime.HpKindIface, elems: []*value{v}}
	}
	switch {
	case isError(t):
		errorsPkg := types.NewPackage("errors", "errors")
		sig := types.NewSignatureType(nil, nil, nil,
			types.NewTuple(types.NewParam(0, nil, "text", types.Typ[types.String])),
			types.NewTuple(types.NewParam(0, nil, "", t)), false)
		f := &function{idx: p.funcs.add(errorsPkg, "New"), expr: "New", pkg: errorsPkg, sig: sig}
		vals = append(vals, &value{typ: t, kind: proberuntime.HpKindCall, fn: f,
			elems: []*value{p.lit(types.Typ[types.String], "boom", `"boom"`)}})
		return vals, ""
	case it.Empty():
		for _, bt := range []types.Type{types.Typ[types.Int], types.Typ[types.String], types.Typ[types.Bool], types.Typ[types.Float64]} {
			bv, _ := p.get(bt)
			for i := 0; i < 2 && i < len(bv); i++ {
				vals = append(vals, wrap(bv[(i*3)%len(bv)]))
			}
		}
		// A value of each concrete type the package's type switches name:
		// what its code does with an int64 or a []byte it was handed.
		for _, st := range p.lits.switchTypes {
			if _, isIface := st.Underlying().(*types.Interface); isIface || !types.AssignableTo(st, t) {
				continue
			}
			if sv, why := p.get(st); why == "" && len(sv) > 0 {
				vals = append(vals, wrap(typical(sv)))
			}
		}
		return vals, ""
	}
	if n, ok := t.(*types.Named); ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "context" && n.Obj().Name() == "Context" {
		ctx := n.Obj().Pkg()
		sig := types.NewSignatureType(nil, nil, nil, nil, types.NewTuple(types.NewParam(0, nil, "", t)), false)
		f := &function{idx: p.funcs.add(ctx, "Background"), expr: "Background", pkg: ctx, sig: sig}
		return []*value{{typ: t, kind: proberuntime.HpKindCall, fn: f}}, ""
	}
	found := false
	for _, nt := range p.named {
		for _, cand := range []types.Type{nt, types.NewPointer(nt)} {
			if !types.Implements(cand, it) {
				continue
			}
			cv, why := p.get(cand)
			if why != "" {
				continue
			}
			for _, v := range cv {
				if v.kind == proberuntime.HpKindZero && !isComposite(v.typ) {
					continue
				}
				vals = append(vals, wrap(v))
				found = true
				if len(vals) > 2*maxVariants {
					break
				}
			}
			break
		}
	}
	if !found {
		return nil, "it takes interface " + t.String() + ", which no type of the package implements"
	}
	return vals, ""
}

// Stubs per function type.
const maxStubs = 4

// stubs are functions of type t that ignore their arguments and return
// fixed values: zero results, typical ones, other picks, and an error when
// the last result is one. A generator cannot invent the code a caller
// passes, but a constant answer drives the caller's handling of it.
func (p *pools) stubs(t types.Type, sig *types.Signature) ([]*value, string) {
	fail := "it takes a function (" + t.String() + ") whose results cannot be made up"
	for i := 0; i < sig.Params().Len(); i++ {
		if why := unreachableType(p.pkg, sig.Params().At(i).Type()); why != "" {
			return nil, fail + ": " + why
		}
	}
	res := sig.Results()
	pools := make([][]*value, res.Len())
	for i := 0; i < res.Len(); i++ {
		vals, why := p.get(res.At(i).Type())
		if why != "" || len(vals) == 0 {
			return nil, fail
		}
		pools[i] = vals
	}
	var vals []*value
	for n := 0; n < maxStubs; n++ {
		v := &value{typ: t, kind: proberuntime.HpKindFunc}
		for i, pv := range pools {
			var r *value
			switch {
			case isError(res.At(i).Type()):
				r = pv[0] // nil
				if n == maxStubs-1 && len(pv) > 1 {
					r = pv[1] // errors.New("boom")
				}
			case n == 0:
				r = pv[0]
			case n == 1:
				r = typical(pv)
			default:
				r = p.pick(pv)
			}
			v.elems = append(v.elems, r)
		}
		vals = append(vals, v)
		if res.Len() == 0 {
			break
		}
	}
	return vals, ""
}

// fromCtors builds values of t with the package's constructors: those
// returning t itself, those returning *T for t = T (the result
// dereferenced) and those returning T for t = *T (the address of a
// variable holding the result), so that value-receiver methods get
// constructed values from pointer constructors and the other way round.
func (p *pools) fromCtors(t types.Type) []*value {
	var vals []*value
	for i, c := range p.ctors {
		out := p.ctorOut[i]
		var wrap func(call *value) *value
		switch {
		case types.Identical(out, t):
			wrap = func(call *value) *value { return call }
		case isPointerTo(out, t):
			wrap = func(call *value) *value {
				return &value{typ: t, kind: proberuntime.HpKindDeref, elems: []*value{call}}
			}
		case isPointerTo(t, out):
			wrap = func(call *value) *value {
				return &value{typ: t, kind: proberuntime.HpKindPtr, elems: []*value{call}}
			}
		default:
			continue
		}
		params := c.sig.Params()
		argPools := make([][]*value, params.Len())
		ok := true
		for j := 0; j < params.Len(); j++ {
			pt := params.At(j).Type()
			pv, why := p.get(pt)
			if why != "" || len(pv) == 0 {
				ok = false
				break
			}
			argPools[j] = pv
		}
		if !ok {
			continue
		}
		for n := 0; n < 3; n++ {
			v := &value{typ: out, kind: proberuntime.HpKindCall, fn: c}
			for j := range argPools {
				pv := argPools[j]
				if n == 0 {
					v.elems = append(v.elems, pv[min(1, len(pv)-1)])
				} else {
					v.elems = append(v.elems, p.pick(pv))
				}
			}
			vals = append(vals, wrap(v))
			if params.Len() == 0 {
				break
			}
		}
		// Values parsed from the composed inputs: a template or an
		// expression with parts, which the random picks above rarely are.
		for j := 0; j < params.Len(); j++ {
			if !isString(params.At(j).Type()) {
				continue
			}
			for k := 0; k < min(len(p.lits.composed), maxComposedCtorCalls); k++ {
				v := &value{typ: out, kind: proberuntime.HpKindCall, fn: c}
				for i, pv := range argPools {
					a := pv[min(1, len(pv)-1)]
					if i == j {
						s := p.lits.composed[k]
						a = p.lit(params.At(j).Type(), s, quote(s))
					}
					v.elems = append(v.elems, a)
				}
				vals = append(vals, wrap(v))
			}
		}
	}
	return vals
}

// isString reports whether t is a string type.
func isString(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Info()&types.IsString != 0
}

// isPointerTo reports whether ptr is *elem.
func isPointerTo(ptr, elem types.Type) bool {
	pt, ok := ptr.(*types.Pointer)
	return ok && types.Identical(pt.Elem(), elem)
}

// constructed reports whether v is made by one of the package's
// constructors: a call, or a call's result dereferenced or addressed.
func constructed(v *value) bool {
	switch v.kind {
	case proberuntime.HpKindCall:
		return true
	case proberuntime.HpKindDeref, proberuntime.HpKindPtr:
		return len(v.elems) == 1 && v.elems[0].kind == proberuntime.HpKindCall
	}
	return false
}

func (p *pools) pick(vals []*value) *value {
	return vals[p.rng.IntN(len(vals))]
}

func dedupe(vals []*value) []*value {
	seen := map[string]bool{}
	out := vals[:0:0]
	for _, v := range vals {
		k := v.key()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, v)
	}
	return out
}

func uniqueStrings(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func uniqueFloats(in []float64) []float64 {
	seen := map[float64]bool{}
	var out []float64
	for _, f := range in {
		if !seen[f] && !math.IsNaN(f) {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}
