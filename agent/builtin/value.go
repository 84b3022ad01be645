package builtin

import (
	"go/types"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/tools/go/types/typeutil"

	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
)

// value is one input the generator can build: the probe builds it with
// reflect from its node, and the test file writes it as Go source.
// Values are never changed once made; mutation copies.
type value struct {
	typ   types.Type
	kind  string // a proberuntime.HpKind* constant
	lit   string // HpKindLit: the value as the probe parses it
	src   string // HpKindLit: the value as the test writes it (a literal or a constant's name)
	typed bool   // src is a typed constant of typ: no conversion needed in an interface slot
	needs string // HpKindLit: import path src refers to ("math" for math.MaxInt64)
	doc   bool   // HpKindLit: an example from the package's comments
	elems []*value
	names []string  // HpKindStruct: field names, parallel to elems
	fn    *function // HpKindCall
}

// function is a function the probe can call to build a value: one of the
// package's constructors or a known function of the standard library.
type function struct {
	idx    int
	expr   string         // as written in the package: "NewStack", or the member name for other packages
	pkg    *types.Package // nil for the package under test
	sig    *types.Signature
	must   bool   // returns (T, error): the test calls it through a must helper
	addr   bool   // the test calls it through a helper returning a pointer to its result
	helper string // name of that helper

	addrOf *function // the addr variant of this function, once made
}

// addressed returns the variant of f whose helper returns a pointer to
// f's result, for *T values built by a constructor of T.
func (f *function) addressed() *function {
	if f.addrOf == nil {
		a := *f
		a.addr, a.addrOf = true, nil
		name := f.expr
		if f.must {
			name = "must" + name
		}
		a.helper = "ptr" + strings.ToUpper(name[:1]) + name[1:]
		f.addrOf = &a
	}
	return f.addrOf
}

// typeTable numbers the types values are built with, for the probe.
type typeTable struct {
	idx  typeutil.Map
	list []types.Type
}

func (tt *typeTable) index(t types.Type) int {
	if i, ok := tt.idx.At(t).(int); ok {
		return i
	}
	tt.idx.Set(t, len(tt.list))
	tt.list = append(tt.list, t)
	return len(tt.list) - 1
}

// node encodes v for the probe.
func (v *value) node(tt *typeTable) *proberuntime.HpNode {
	n := &proberuntime.HpNode{Type: tt.index(v.typ), Kind: v.kind, Value: v.lit, Names: v.names}
	if v.fn != nil {
		n.Func = v.fn.idx
	}
	for _, e := range v.elems {
		n.Elems = append(n.Elems, e.node(tt))
	}
	return n
}

// writer writes values as source for the test file and remembers the
// must helpers they use.
type writer struct {
	im      *imports
	taken   map[string]bool
	helpers map[*function]string // must helpers used, by their names in the file
}

// source writes v. elide drops the type of a composite literal that is an
// element of another composite literal, as gofmt -s would.
func (w *writer) source(v *value, elide bool) string {
	switch v.kind {
	case proberuntime.HpKindLit:
		if v.needs != "" {
			w.im.name(v.needs, lastElem(v.needs))
		}
		return v.src
	case proberuntime.HpKindZero:
		return w.zero(v.typ, elide)
	case proberuntime.HpKindSlice, proberuntime.HpKindArray:
		if s, ok := bytesText(v); ok {
			return w.im.typeString(v.typ) + "(" + s + ")"
		}
		parts := make([]string, len(v.elems))
		for i, e := range v.elems {
			parts[i] = w.source(e, true)
		}
		return w.composite(v.typ, elide, strings.Join(parts, ", "))
	case proberuntime.HpKindMap:
		parts := make([]string, 0, len(v.elems)/2)
		for i := 0; i+1 < len(v.elems); i += 2 {
			parts = append(parts, w.source(v.elems[i], true)+": "+w.source(v.elems[i+1], true))
		}
		return w.composite(v.typ, elide, strings.Join(parts, ", "))
	case proberuntime.HpKindStruct:
		parts := make([]string, len(v.elems))
		for i, e := range v.elems {
			parts[i] = v.names[i] + ": " + w.source(e, false)
		}
		return w.composite(v.typ, elide, strings.Join(parts, ", "))
	case proberuntime.HpKindDeref:
		return "*" + w.source(v.elems[0], false)
	case proberuntime.HpKindPtr:
		if len(v.elems) == 1 && v.elems[0].kind == proberuntime.HpKindCall {
			c := *v.elems[0]
			c.fn = c.fn.addressed()
			return w.call(&c)
		}
		inner := "{}"
		if len(v.elems) == 1 {
			inner = w.source(v.elems[0], elide)
		} else if !elide {
			inner = w.im.typeString(v.typ.(*types.Pointer).Elem()) + "{}"
		}
		if elide {
			return inner
		}
		return "&" + inner
	case proberuntime.HpKindIface:
		if len(v.elems) == 0 {
			return "nil"
		}
		return w.explicit(v.elems[0])
	case proberuntime.HpKindCall:
		return w.call(v)
	case proberuntime.HpKindFunc:
		sig := v.typ.Underlying().(*types.Signature)
		rets := make([]string, len(v.elems))
		for i, e := range v.elems {
			rets[i] = w.source(e, false)
		}
		body := "{}"
		if len(rets) > 0 {
			body = "{ return " + strings.Join(rets, ", ") + " }"
		}
		lit := w.im.typeString(sig) + " " + body
		if _, named := v.typ.(*types.Named); named {
			return w.im.typeString(v.typ) + "(" + lit + ")"
		}
		return lit
	}
	return "nil"
}

// composite writes a composite literal, without its type when elided.
func (w *writer) composite(t types.Type, elide bool, body string) string {
	if elide {
		return "{" + body + "}"
	}
	return w.im.typeString(t) + "{" + body + "}"
}

// explicit writes v so that it keeps its type in an interface slot.
func (w *writer) explicit(v *value) string {
	s := w.source(v, false)
	if v.typed {
		return s
	}
	switch v.kind {
	case proberuntime.HpKindLit, proberuntime.HpKindZero:
		if b, ok := v.typ.(*types.Basic); ok && b == defaultType(v) {
			return s
		}
		if _, ok := v.typ.Underlying().(*types.Basic); ok {
			return w.im.typeString(v.typ) + "(" + s + ")"
		}
		if v.kind == proberuntime.HpKindZero && s == "nil" {
			return "(" + w.im.typeString(v.typ) + ")(nil)"
		}
	}
	return s
}

// defaultType is the type an untyped literal written for v gets.
func defaultType(v *value) types.Type {
	b, ok := v.typ.Underlying().(*types.Basic)
	if !ok {
		return nil
	}
	switch {
	case b.Info()&types.IsString != 0:
		return types.Typ[types.String]
	case b.Info()&types.IsBoolean != 0:
		return types.Typ[types.Bool]
	case b.Info()&types.IsFloat != 0:
		return types.Typ[types.Float64]
	case b.Info()&types.IsComplex != 0:
		return types.Typ[types.Complex128]
	case isRune(v.typ) && strings.HasPrefix(v.src, "'"):
		return types.Universe.Lookup("rune").Type()
	case b.Info()&types.IsInteger != 0:
		return types.Typ[types.Int]
	}
	return nil
}

func isRune(t types.Type) bool {
	return t == types.Universe.Lookup("rune").Type()
}

func (w *writer) call(v *value) string {
	f := v.fn
	name := f.expr
	if f.pkg != nil {
		name = w.im.qualify(f.pkg.Path(), f.pkg.Name(), f.expr)
	}
	if f.must || f.addr {
		if _, ok := w.helpers[f]; !ok {
			w.helpers[f] = freeName(w.taken, f.helper, "Helper")
		}
		name = w.helpers[f]
	}
	args := make([]string, 0, len(v.elems))
	for i, e := range v.elems {
		if f.sig.Variadic() && i == len(v.elems)-1 {
			switch e.kind {
			case proberuntime.HpKindSlice:
				for _, x := range e.elems {
					args = append(args, w.source(x, false))
				}
				continue
			case proberuntime.HpKindZero:
				continue
			}
			args = append(args, w.source(e, false)+"...")
			continue
		}
		args = append(args, w.source(e, false))
	}
	return name + "(" + strings.Join(args, ", ") + ")"
}

// zero writes the zero value of t.
func (w *writer) zero(t types.Type, elide bool) string {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Info()&types.IsString != 0:
			return `""`
		case u.Info()&types.IsBoolean != 0:
			return "false"
		case u.Kind() == types.UnsafePointer:
			return "nil"
		}
		return "0"
	case *types.Struct, *types.Array:
		return w.composite(t, elide, "")
	}
	return "nil"
}

// bytesText writes a byte slice of printable text as a string literal.
func bytesText(v *value) (string, bool) {
	s, ok := v.typ.Underlying().(*types.Slice)
	if !ok || len(v.elems) == 0 {
		return "", false
	}
	if b, ok := s.Elem().(*types.Basic); !ok || b.Kind() != types.Uint8 {
		return "", false
	}
	buf := make([]byte, len(v.elems))
	for i, e := range v.elems {
		if e.kind != proberuntime.HpKindLit {
			return "", false
		}
		n, err := strconv.Atoi(e.lit)
		if err != nil {
			return "", false
		}
		buf[i] = byte(n)
	}
	if !utf8.Valid(buf) {
		return "", false
	}
	for _, r := range string(buf) {
		if r < ' ' && r != '\t' && r != '\n' || r == 0x7f || r == utf8.RuneError {
			return "", false
		}
	}
	return quote(string(buf)), true
}

// quote writes a string literal, raw when that reads better.
func quote(s string) string {
	if strings.ContainsAny(s, "\"\\") && strconv.CanBackquote(s) {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

// key identifies v among values of the same type, for removing duplicates.
func (v *value) key() string {
	var b strings.Builder
	v.writeKey(&b)
	return b.String()
}

func (v *value) writeKey(b *strings.Builder) {
	b.WriteString(v.kind)
	b.WriteByte('(')
	b.WriteString(types.TypeString(v.typ, nil))
	b.WriteByte('|')
	b.WriteString(strconv.Quote(v.lit))
	if v.fn != nil {
		b.WriteString("|f" + strconv.Itoa(v.fn.idx))
	}
	for i, e := range v.elems {
		b.WriteByte('|')
		if i < len(v.names) {
			b.WriteString(v.names[i] + ":")
		}
		e.writeKey(b)
	}
	b.WriteByte(')')
}

// size is a rough measure of how much reading v takes.
func (v *value) size() int {
	if v.doc {
		return 1
	}
	n := 1 + len(v.src)
	for _, e := range v.elems {
		n += 1 + e.size()
	}
	return n
}

// clone copies v one level deep, for mutation.
func (v *value) clone() *value {
	c := *v
	c.elems = append([]*value(nil), v.elems...)
	c.names = append([]string(nil), v.names...)
	return &c
}
