package proberuntime

import (
	hpmath "math"
	hpreflect "reflect"
	hpsort "sort"
	hpstrconv "strconv"
	hpstrings "strings"
	hputf8 "unicode/utf8"
)

// hpMaxLiteral bounds the length of a literal; a test with a longer one
// would not be read.
const hpMaxLiteral = 1200

// hpRenderer writes values as Go source literals for a file of the package
// under test.
type hpRenderer struct {
	pkgPath string
	imports map[string]string
	onPath  map[uintptr]bool
	bad     string
}

// HpRender writes v as a Go literal assignable to a variable of v's static
// type, in a file of package pkgPath.
func HpRender(pkgPath string, v hpreflect.Value) *HpLiteral {
	r := &hpRenderer{pkgPath: pkgPath, imports: map[string]string{}, onPath: map[uintptr]bool{}}
	src := r.value(v, false)
	if r.bad == "" && len(src) > hpMaxLiteral {
		r.bad = "the value is too large to write in a readable test"
	}
	if r.bad != "" {
		return &HpLiteral{Bad: r.bad}
	}
	lit := &HpLiteral{Src: src}
	if len(r.imports) > 0 {
		lit.Imports = r.imports
	}
	return lit
}

func (r *hpRenderer) fail(why string) string {
	if r.bad == "" {
		r.bad = why
	}
	return "nil"
}

// typeExpr writes t as a type expression.
func (r *hpRenderer) typeExpr(t hpreflect.Type) string {
	if t.Name() != "" {
		if hpstrings.ContainsAny(t.Name(), "[]") {
			return r.fail("instances of generic types are not written as literals")
		}
		switch t.PkgPath() {
		case "":
			return t.Name()
		case r.pkgPath:
			return t.Name()
		}
		s := t.String()
		name := s[:hpstrings.LastIndex(s, ".")]
		if name == "main" || !hpCanImport(r.pkgPath, t.PkgPath()) {
			return r.fail("type " + s + " cannot be imported by a test")
		}
		r.imports[t.PkgPath()] = name
		return s
	}
	switch t.Kind() {
	case hpreflect.Slice:
		if hpIsBuiltin(t.Elem(), "uint8") {
			return "[]byte"
		}
		return "[]" + r.typeExpr(t.Elem())
	case hpreflect.Array:
		return "[" + hpstrconv.Itoa(t.Len()) + "]" + r.typeExpr(t.Elem())
	case hpreflect.Map:
		return "map[" + r.typeExpr(t.Key()) + "]" + r.typeExpr(t.Elem())
	case hpreflect.Ptr:
		return "*" + r.typeExpr(t.Elem())
	case hpreflect.Interface:
		if t.NumMethod() == 0 {
			return "interface{}"
		}
		return r.fail("unnamed interface types are not written as literals")
	case hpreflect.Struct:
		var b hpstrings.Builder
		b.WriteString("struct {")
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.PkgPath != "" && f.PkgPath != r.pkgPath {
				return r.fail("an unnamed struct type has unexported fields of another package")
			}
			if i > 0 {
				b.WriteString(";")
			}
			b.WriteString(" ")
			if !f.Anonymous {
				b.WriteString(f.Name + " ")
			}
			b.WriteString(r.typeExpr(f.Type))
			if f.Tag != "" {
				b.WriteString(" " + hpstrconv.Quote(string(f.Tag)))
			}
		}
		b.WriteString(" }")
		return b.String()
	}
	return r.fail("values of type " + t.String() + " cannot be written as literals")
}

// value writes v; explicit says the literal must carry its type because the
// slot it goes into is an interface.
func (r *hpRenderer) value(v hpreflect.Value, explicit bool) string {
	if r.bad != "" {
		return "nil"
	}
	if !v.IsValid() {
		return "nil"
	}
	t := v.Type()
	switch t.Kind() {
	case hpreflect.Interface:
		if v.IsNil() {
			return "nil"
		}
		return r.value(v.Elem(), true)
	case hpreflect.Bool:
		return r.convert(t, hpstrconv.FormatBool(v.Bool()), explicit && !hpIsBuiltin(t, "bool"))
	case hpreflect.Int, hpreflect.Int8, hpreflect.Int16, hpreflect.Int32, hpreflect.Int64:
		return r.convert(t, hpstrconv.FormatInt(v.Int(), 10), explicit && !hpIsBuiltin(t, "int"))
	case hpreflect.Uint, hpreflect.Uint8, hpreflect.Uint16, hpreflect.Uint32, hpreflect.Uint64, hpreflect.Uintptr:
		return r.convert(t, hpstrconv.FormatUint(v.Uint(), 10), explicit)
	case hpreflect.Float32, hpreflect.Float64:
		return r.float(t, v.Float(), explicit)
	case hpreflect.Complex64, hpreflect.Complex128:
		c := v.Complex()
		bits := 64
		if t.Kind() == hpreflect.Complex64 {
			bits = 32
		}
		re, im := real(c), imag(c)
		if hpmath.IsNaN(re) || hpmath.IsNaN(im) || hpmath.IsInf(re, 0) || hpmath.IsInf(im, 0) {
			return r.fail("a complex NaN or infinity cannot be compared with ==")
		}
		s := "complex(" + hpFormatFloat(re, bits) + ", " + hpFormatFloat(im, bits) + ")"
		return r.convert(t, s, explicit && !hpIsBuiltin(t, "complex128"))
	case hpreflect.String:
		return r.convert(t, hpQuote(v.String()), explicit && !hpIsBuiltin(t, "string"))
	case hpreflect.Slice:
		if v.IsNil() {
			if explicit {
				return r.typeExpr(t) + "(nil)"
			}
			return "nil"
		}
		if t.Elem().Kind() == hpreflect.Uint8 && t.Elem().PkgPath() == "" {
			if s, ok := hpBytesAsString(v.Bytes()); ok {
				return r.typeExpr(t) + "(" + s + ")"
			}
		}
		return r.typeExpr(t) + r.elems(v)
	case hpreflect.Array:
		return r.typeExpr(t) + r.elems(v)
	case hpreflect.Map:
		if v.IsNil() {
			if explicit {
				return r.typeExpr(t) + "(nil)"
			}
			return "nil"
		}
		return r.typeExpr(t) + r.mapBody(v)
	case hpreflect.Struct:
		return r.typeExpr(t) + r.structBody(v)
	case hpreflect.Ptr:
		if v.IsNil() {
			if explicit {
				return "(" + r.typeExpr(t) + ")(nil)"
			}
			return "nil"
		}
		switch t.Elem().Kind() {
		case hpreflect.Struct, hpreflect.Array, hpreflect.Slice, hpreflect.Map:
		default:
			return r.fail("a pointer to a " + t.Elem().Kind().String() + " cannot be written as a literal")
		}
		if !r.enter(v.Pointer()) {
			return "nil"
		}
		defer delete(r.onPath, v.Pointer())
		return "&" + r.value(v.Elem(), false)
	case hpreflect.Func, hpreflect.Chan, hpreflect.UnsafePointer:
		if v.IsNil() {
			return "nil"
		}
		return r.fail("a non-nil " + t.Kind().String() + " cannot be written as a literal")
	}
	return r.fail("values of kind " + t.Kind().String() + " cannot be written as literals")
}

func (r *hpRenderer) enter(p uintptr) bool {
	if r.onPath[p] {
		r.fail("the value refers to itself")
		return false
	}
	r.onPath[p] = true
	return true
}

// convert wraps a basic literal in a conversion when the slot needs it.
func (r *hpRenderer) convert(t hpreflect.Type, lit string, explicit bool) string {
	if !explicit {
		return lit
	}
	return r.typeExpr(t) + "(" + lit + ")"
}

func (r *hpRenderer) float(t hpreflect.Type, f float64, explicit bool) string {
	bits := 64
	if t.Kind() == hpreflect.Float32 {
		bits = 32
	}
	if hpmath.IsNaN(f) {
		return r.fail("NaN cannot be compared with ==")
	}
	var s string
	switch {
	case hpmath.IsInf(f, 1):
		r.imports["math"] = "math"
		s = "math.Inf(1)"
	case hpmath.IsInf(f, -1):
		r.imports["math"] = "math"
		s = "math.Inf(-1)"
	default:
		s = hpFormatFloat(f, bits)
	}
	if !explicit {
		return s
	}
	if hpIsBuiltin(t, "float64") {
		if !hpstrings.ContainsAny(s, ".eI") {
			s += ".0"
		}
		return s
	}
	return r.typeExpr(t) + "(" + s + ")"
}

// elems writes the body of a slice or array literal. Element types are
// elided where Go allows it.
func (r *hpRenderer) elems(v hpreflect.Value) string {
	n := v.Len()
	parts := make([]string, 0, n)
	for i := 0; i < n; i++ {
		parts = append(parts, r.elem(v.Index(i)))
		if r.bad != "" {
			return "{}"
		}
	}
	return "{" + hpstrings.Join(parts, ", ") + "}"
}

func (r *hpRenderer) mapBody(v hpreflect.Value) string {
	type kv struct{ k, v string }
	var parts []kv
	iter := v.MapRange()
	for iter.Next() {
		parts = append(parts, kv{r.elem(iter.Key()), r.elem(iter.Value())})
		if r.bad != "" {
			return "{}"
		}
	}
	hpsort.Slice(parts, func(i, j int) bool { return parts[i].k < parts[j].k })
	strs := make([]string, len(parts))
	for i, p := range parts {
		strs[i] = p.k + ": " + p.v
	}
	return "{" + hpstrings.Join(strs, ", ") + "}"
}

func (r *hpRenderer) structBody(v hpreflect.Value) string {
	t := v.Type()
	var parts []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		fv := v.Field(i)
		if fv.IsZero() {
			continue
		}
		if f.PkgPath != "" && f.PkgPath != r.pkgPath {
			return "{}" + r.fail("type "+t.String()+" has unexported fields that cannot be written in a test")
		}
		name := f.Name
		if f.Anonymous {
			name = f.Type.Name()
			if f.Type.Kind() == hpreflect.Ptr {
				name = f.Type.Elem().Name()
			}
		}
		parts = append(parts, name+": "+r.value(fv, f.Type.Kind() == hpreflect.Interface))
		if r.bad != "" {
			return "{}"
		}
	}
	return "{" + hpstrings.Join(parts, ", ") + "}"
}

// elem writes an element of a composite literal, eliding its type when it
// is itself a composite literal of the element type.
func (r *hpRenderer) elem(v hpreflect.Value) string {
	t := v.Type()
	switch t.Kind() {
	case hpreflect.Interface:
		return r.value(v, false)
	case hpreflect.Struct:
		return r.structBody(v)
	case hpreflect.Array:
		return r.elems(v)
	case hpreflect.Slice:
		if v.IsNil() || t.Elem().Kind() == hpreflect.Uint8 {
			return r.value(v, false)
		}
		return r.elems(v)
	case hpreflect.Map:
		if v.IsNil() {
			return "nil"
		}
		return r.mapBody(v)
	case hpreflect.Ptr:
		if !v.IsNil() && t.Elem().Kind() == hpreflect.Struct {
			if !r.enter(v.Pointer()) {
				return "nil"
			}
			defer delete(r.onPath, v.Pointer())
			return r.structBody(v.Elem())
		}
	}
	return r.value(v, false)
}

// hpCanImport reports whether package from may import package path: not a
// vendored copy, and internal packages only from within their parent.
func hpCanImport(from, path string) bool {
	if hpstrings.HasPrefix(path, "vendor/") || hpstrings.Contains(path, "/vendor/") {
		return false
	}
	i := hpstrings.LastIndex(path, "/internal/")
	switch {
	case i >= 0:
		return from == path[:i] || hpstrings.HasPrefix(from, path[:i]+"/")
	case hpstrings.HasPrefix(path, "internal/"), hpstrings.HasSuffix(path, "/internal"), path == "internal":
		return false
	}
	return true
}

func hpIsBuiltin(t hpreflect.Type, name string) bool {
	return t.PkgPath() == "" && t.Name() == name
}

func hpFormatFloat(f float64, bits int) string {
	return hpstrconv.FormatFloat(f, 'g', -1, bits)
}

// hpQuote writes s as a string literal, as a raw string when that reads
// better (quotes or backslashes and nothing a raw string cannot hold).
func hpQuote(s string) string {
	if hpstrings.ContainsAny(s, "\"\\") && hpstrconv.CanBackquote(s) {
		return "`" + s + "`"
	}
	return hpstrconv.Quote(s)
}

// hpBytesAsString writes b as a string literal when it is printable text.
func hpBytesAsString(b []byte) (string, bool) {
	if len(b) == 0 || !hputf8.Valid(b) {
		return "", false
	}
	for _, c := range string(b) {
		if c < ' ' && c != '\n' && c != '\t' || c == hputf8.RuneError || c == 0x7f {
			return "", false
		}
	}
	return hpQuote(string(b)), true
}
