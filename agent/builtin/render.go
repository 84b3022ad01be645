package builtin

import (
	"fmt"
	"go/format"
	"go/types"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
)

// maxRowWidth is the widest case kept on one line; wider cases get a line
// per field.
const maxRowWidth = 110

const fileHeader = `// Characterization tests written by handoff's builtin agent. Each case
// records what the code returned for its inputs when the tests were
// generated; a failure means the behaviour changed. If the change is
// intended, update the expected value.

`

// testFile renders the plans as one gofmt'ed table-driven test file.
type testFile struct {
	m     *module
	im    *imports
	w     *writer
	taken map[string]bool
	names map[*target]string // test function names
}

func newTestFile(m *module) *testFile {
	im := newImports(m.pkg.Types, false)
	taken := takenNames(m)
	return &testFile{m: m, im: im, w: &writer{im: im, taken: taken, helpers: map[*function]string{}}, taken: taken,
		names: map[*target]string{}}
}

// testName is the test function name of t, free of clashes.
func (f *testFile) testName(t *target) string {
	if n, ok := f.names[t]; ok {
		return n
	}
	n := freeName(f.taken, t.testName, "Generated")
	f.names[t] = n
	return n
}

// render writes the file.
func (f *testFile) render(plans []*plan) ([]byte, error) {
	var body strings.Builder
	for _, p := range plans {
		body.WriteString("\n")
		body.WriteString(f.test(p))
	}
	helpers := f.helpers()
	f.im.name("testing", "testing")
	var b strings.Builder
	b.WriteString(fileHeader)
	fmt.Fprintf(&b, "package %s\n\n", f.m.pkg.Name)
	b.WriteString(f.im.block())
	b.WriteString(body.String())
	b.WriteString(helpers)
	out, err := format.Source([]byte(b.String()))
	if err != nil {
		return nil, fmt.Errorf("formatting the generated tests (a bug in the builtin agent): %w", err)
	}
	return out, nil
}

// field is one column of a test table.
type field struct {
	name, typ string
}

// columns names the table columns of a plan.
type columns struct {
	params  []field // parallel to t.params
	results []field // parallel to t.results; empty name for the error
	gots    []string
	errIdx  int // index of the error result, or -1
	// anyErr is the bool column of cases whose error text comes from the
	// standard library: they assert only that there is an error.
	anyErr string
	post   []field
	panics bool
	// twice is the bool column of cases that make the call once before
	// the one they assert.
	twice string
}

func (f *testFile) columns(p *plan) columns {
	t := p.t
	used := map[string]bool{"name": true, "tt": true, "t": true, "tests": true, "err": true, "got": true}
	var c columns
	c.errIdx = -1
	for i, pr := range t.params {
		n := pr.name
		if n == "" || n == "_" {
			n = "arg" + strconv.Itoa(i)
		}
		n = uniqueField(used, n, "Arg")
		c.params = append(c.params, field{name: n, typ: f.im.typeString(pr.typ)})
	}
	nonErr := 0
	for _, r := range t.results {
		if !isError(r.Type()) {
			nonErr++
		}
	}
	for j, r := range t.results {
		if isError(r.Type()) {
			c.errIdx = j
			c.results = append(c.results, field{name: uniqueField(used, "wantErr", "X"), typ: "string"})
			c.gots = append(c.gots, "err")
			continue
		}
		want, got := "want", "got"
		if nonErr > 1 {
			suffix := strconv.Itoa(j + 1)
			if r.Name() != "" && r.Name() != "_" {
				suffix = capitalize(r.Name())
			}
			want, got = "want"+suffix, "got"+suffix
		}
		typ := "string"
		if t.stringResult(j) {
			want += "Str"
		} else {
			typ = f.im.typeString(r.Type())
		}
		c.results = append(c.results, field{name: uniqueField(used, want, "Result"), typ: typ})
		c.gots = append(c.gots, got)
	}
	for _, k := range p.post {
		c.post = append(c.post, field{name: uniqueField(used, "want"+capitalize(c.params[k].name), "After"),
			typ: c.params[k].typ})
	}
	// With nothing else to assert, every case asserts whether it panics.
	c.panics = silent(p)
	for _, cs := range p.cases {
		if cs.out.Panic != nil {
			c.panics = true
		}
		if cs.twice && c.twice == "" {
			c.twice = uniqueField(used, "callTwice", "X")
		}
		if c.errIdx >= 0 && c.anyErr == "" && cs.out.Panic == nil && f.stdErrorText(cs.out.Results[c.errIdx]) {
			c.anyErr = uniqueField(used, "wantAnyErr", "X")
		}
	}
	return c
}

// stdErrorText reports whether an error's text comes from the standard
// library: the error, or one it wraps, is of a standard package's type
// (*strconv.NumError, *fs.PathError), not just errors.New or fmt.Errorf,
// which carry the package's own words. A Go release may reword such a
// text, so a test asserts only that there is an error.
func (f *testFile) stdErrorText(r proberuntime.HpResult) bool {
	if !r.IsError || r.Err == nil {
		return false
	}
	mod := ""
	if f.m.pkg.Module != nil {
		mod = f.m.pkg.Module.Path
	}
	for _, t := range r.ErrTypes {
		pkg := t[:max(0, strings.LastIndexByte(t, '.'))]
		if pkg == "" || pkg == "errors" || pkg == "fmt" || pkg == f.m.pkg.PkgPath {
			continue
		}
		first, _, _ := strings.Cut(pkg, "/")
		if !strings.Contains(first, ".") && (mod == "" || pkg != mod && !strings.HasPrefix(pkg, mod+"/")) {
			return true
		}
	}
	return false
}

func uniqueField(used map[string]bool, name, suffix string) string {
	for used[name] {
		name += suffix
	}
	used[name] = true
	return name
}

func capitalize(s string) string {
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// test writes one test function.
func (f *testFile) test(p *plan) string {
	t := p.t
	c := f.columns(p)
	var b strings.Builder
	fmt.Fprintf(&b, "func %s(t *testing.T) {\n\ttests := []struct {\n\t\tname string\n", f.testName(t))
	for _, fl := range c.params {
		fmt.Fprintf(&b, "\t\t%s %s\n", fl.name, fl.typ)
	}
	if c.twice != "" {
		fmt.Fprintf(&b, "\t\t%s bool\n", c.twice)
	}
	for _, fl := range c.results {
		fmt.Fprintf(&b, "\t\t%s %s\n", fl.name, fl.typ)
	}
	for _, fl := range c.post {
		fmt.Fprintf(&b, "\t\t%s %s\n", fl.name, fl.typ)
	}
	if c.anyErr != "" {
		fmt.Fprintf(&b, "\t\t%s bool\n", c.anyErr)
	}
	if c.panics {
		b.WriteString("\t\twantPanic string\n")
	}
	b.WriteString("\t}{\n")
	for i, cs := range p.cases {
		b.WriteString(f.row(p, c, cs, p.names[i]))
	}
	b.WriteString("\t}\n\tfor _, tt := range tests {\n\t\tt.Run(tt.name, func(t *testing.T) {\n")
	b.WriteString(f.checks(p, c))
	b.WriteString("\t\t})\n\t}\n}\n")
	return b.String()
}

// row writes one case of the table.
func (f *testFile) row(p *plan, c columns, cs *candidate, name string) string {
	kv := []string{"name: " + strconv.Quote(name)}
	for i, a := range cs.args {
		kv = append(kv, c.params[i].name+": "+f.w.source(a, false))
	}
	if cs.twice {
		kv = append(kv, c.twice+": true")
	}
	o := cs.out
	switch {
	case o.Panic != nil:
		kv = append(kv, "wantPanic: "+strconv.Quote(*o.Panic))
	case c.errIdx >= 0 && o.Results[c.errIdx].Err != nil && c.anyErr != "" && f.stdErrorText(o.Results[c.errIdx]):
		kv = append(kv, c.anyErr+": true")
	case c.errIdx >= 0 && o.Results[c.errIdx].Err != nil:
		kv = append(kv, c.results[c.errIdx].name+": "+quote(*o.Results[c.errIdx].Err))
	default:
		for j, r := range o.Results {
			if j == c.errIdx {
				continue
			}
			if p.t.stringResult(j) {
				kv = append(kv, c.results[j].name+": "+quote(*r.Str))
				continue
			}
			f.im.merge(r.Literal.Imports)
			kv = append(kv, c.results[j].name+": "+r.Literal.Src)
		}
		for i, k := range p.post {
			for _, po := range o.Post {
				if po.Arg == k {
					f.im.merge(po.After.Imports)
					kv = append(kv, c.post[i].name+": "+po.After.Src)
				}
			}
		}
	}
	line := "{" + strings.Join(kv, ", ") + "},"
	if len(line) <= maxRowWidth && !strings.Contains(line, "\n") {
		return "\t\t" + line + "\n"
	}
	return "\t\t{\n\t\t\t" + strings.Join(kv, ",\n\t\t\t") + ",\n\t\t},\n"
}

// checks writes the body of a case: the call and its assertions.
func (f *testFile) checks(p *plan, c columns) string {
	t := p.t
	var b strings.Builder
	// How the call reads in messages: Parse(%q) with the argument columns.
	var verbs, vals, args []string
	for i, pr := range t.params {
		if pr.recv {
			continue
		}
		v := verb(pr.typ)
		if _, isFunc := pr.typ.Underlying().(*types.Signature); isFunc {
			v = "%T" // vet: a func value is not printed with %v
		}
		verbs = append(verbs, v)
		vals = append(vals, "tt."+c.params[i].name)
		a := "tt." + c.params[i].name
		if pr.variadic {
			a += "..."
		}
		args = append(args, a)
	}
	callee := t.obj.Name()
	display := t.name
	if t.isMethod() {
		callee = "tt." + c.params[0].name + "." + t.obj.Name()
	}
	call := callee + "(" + strings.Join(args, ", ") + ")"
	desc := display + "(" + strings.Join(verbs, ", ") + ")"
	msgArgs := ""
	if len(vals) > 0 {
		msgArgs = ", " + strings.Join(vals, ", ")
	}
	if silent(p) {
		f.im.name("fmt", "fmt")
		b.WriteString("\t\t\tdefer func() {\n\t\t\t\tr := recover()\n")
		b.WriteString("\t\t\t\tif r == nil && tt.wantPanic != \"\" || r != nil && fmt.Sprint(r) != tt.wantPanic {\n")
		fmt.Fprintf(&b, "\t\t\t\t\tt.Errorf(%q%s, r, tt.wantPanic)\n", desc+" recovered %v, want panic %q", msgArgs)
		b.WriteString("\t\t\t\t}\n\t\t\t}()\n")
	} else if c.panics {
		f.im.name("fmt", "fmt")
		fmt.Fprintf(&b, "\t\t\tif tt.wantPanic != \"\" {\n\t\t\t\tdefer func() {\n")
		fmt.Fprintf(&b, "\t\t\t\t\tif r := fmt.Sprint(recover()); r != tt.wantPanic {\n")
		fmt.Fprintf(&b, "\t\t\t\t\t\tt.Errorf(%q%s, r, tt.wantPanic)\n", desc+" panicked with %q, want panic %q", msgArgs)
		b.WriteString("\t\t\t\t\t}\n\t\t\t\t}()\n\t\t\t}\n")
	}
	if c.twice != "" {
		fmt.Fprintf(&b, "\t\t\tif tt.%s {\n\t\t\t\t%s\n\t\t\t}\n", c.twice, call)
	}
	if len(c.gots) > 0 {
		fmt.Fprintf(&b, "\t\t\t%s := %s\n", strings.Join(c.gots, ", "), call)
	} else {
		fmt.Fprintf(&b, "\t\t\t%s\n", call)
	}
	if c.anyErr != "" {
		fmt.Fprintf(&b, "\t\t\tif tt.%s {\n\t\t\t\tif err == nil {\n", c.anyErr)
		fmt.Fprintf(&b, "\t\t\t\t\tt.Fatalf(%q%s)\n", desc+" error = nil, want an error", msgArgs)
		b.WriteString("\t\t\t\t}\n\t\t\t\treturn\n\t\t\t}\n")
	}
	if c.errIdx >= 0 {
		we := "tt." + c.results[c.errIdx].name
		fmt.Fprintf(&b, "\t\t\tif %s != \"\" {\n\t\t\t\tif err == nil || err.Error() != %s {\n", we, we)
		fmt.Fprintf(&b, "\t\t\t\t\tt.Fatalf(%q%s, err, %s)\n", desc+" error = %v, want %q", msgArgs, we)
		b.WriteString("\t\t\t\t}\n\t\t\t\treturn\n\t\t\t}\n")
		fmt.Fprintf(&b, "\t\t\tif err != nil {\n\t\t\t\tt.Fatalf(%q%s, err)\n\t\t\t}\n", desc+" unexpected error: %v", msgArgs)
	}
	for j, r := range t.results {
		if j == c.errIdx {
			continue
		}
		got, want := c.gots[j], "tt."+c.results[j].name
		what := desc
		if len(c.gots)-boolInt(c.errIdx >= 0) > 1 {
			what += " " + strings.TrimPrefix(got, "got")
		}
		v := verb(r.Type())
		if t.stringResult(j) {
			// Asserted through what it says of itself.
			got, v, what = got+".String()", "%q", what+".String()"
			fmt.Fprintf(&b, "\t\t\tif %s != %s {\n", got, want)
		} else {
			fmt.Fprintf(&b, "\t\t\tif %s {\n", f.differs(r.Type(), got, want))
		}
		fmt.Fprintf(&b, "\t\t\t\tt.Errorf(%q%s, %s, %s)\n", what+" = "+v+", want "+v, msgArgs, got, want)
		b.WriteString("\t\t\t}\n")
	}
	for i, k := range p.post {
		arg := "tt." + c.params[k].name
		want := "tt." + c.post[i].name
		v := verb(t.params[k].typ)
		fmt.Fprintf(&b, "\t\t\tif %s {\n", f.differs(t.params[k].typ, arg, want))
		fmt.Fprintf(&b, "\t\t\t\tt.Errorf(%q%s, %s, %s)\n", "after "+desc+", "+c.params[k].name+" = "+v+", want "+v, msgArgs, arg, want)
		b.WriteString("\t\t\t}\n")
	}
	return b.String()
}

// silent reports whether a plan's calls show nothing but whether they
// panic: no results, no argument asserted after the call.
func silent(p *plan) bool {
	return len(p.t.results) == 0 && len(p.post) == 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// differs writes the comparison of got and want: != where it compares
// values, reflect.DeepEqual where values hold pointers, slices or maps.
func (f *testFile) differs(t types.Type, got, want string) string {
	if valueComparable(t, 0) {
		return got + " != " + want
	}
	f.im.name("reflect", "reflect")
	return "!reflect.DeepEqual(" + got + ", " + want + ")"
}

// valueComparable reports whether == on t compares values all the way
// down (no pointers or interfaces inside).
func valueComparable(t types.Type, depth int) bool {
	if depth > 10 {
		return false
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Kind() != types.UnsafePointer
	case *types.Array:
		return valueComparable(u.Elem(), depth+1)
	case *types.Struct:
		for i := 0; i < u.NumFields(); i++ {
			if !valueComparable(u.Field(i).Type(), depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// verb is the fmt verb that shows a value of t best.
func verb(t types.Type) string {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		if u.Info()&types.IsString != 0 {
			return "%q"
		}
	case *types.Slice:
		if b, ok := u.Elem().Underlying().(*types.Basic); ok && b.Kind() == types.Uint8 {
			return "%q"
		}
	case *types.Struct, *types.Pointer:
		return "%+v"
	}
	return "%v"
}

// helpers writes the must helpers the cases use.
func (f *testFile) helpers() string {
	fns := make([]*function, 0, len(f.w.helpers))
	for fn := range f.w.helpers {
		fns = append(fns, fn)
	}
	sort.Slice(fns, func(i, j int) bool { return f.w.helpers[fns[i]] < f.w.helpers[fns[j]] })
	var b strings.Builder
	for _, fn := range fns {
		name := f.w.helpers[fn]
		sig := fn.sig
		var params, args []string
		for i := 0; i < sig.Params().Len(); i++ {
			pv := sig.Params().At(i)
			n := pv.Name()
			if n == "" || n == "_" || n == "err" || n == "v" {
				n = "arg" + strconv.Itoa(i)
			}
			typ := f.im.typeString(pv.Type())
			a := n
			if sig.Variadic() && i == sig.Params().Len()-1 {
				typ = "..." + f.im.typeString(pv.Type().(*types.Slice).Elem())
				a += "..."
			}
			params = append(params, n+" "+typ)
			args = append(args, a)
		}
		res := f.im.typeString(sig.Results().At(0).Type())
		call := fn.expr + "(" + strings.Join(args, ", ") + ")"
		switch {
		case fn.addr && fn.must:
			fmt.Fprintf(&b, "\n// %s is %s for test tables: it panics on error and returns a pointer to the result.\n", name, fn.expr)
			fmt.Fprintf(&b, "func %s(%s) *%s {\n\tv, err := %s\n\tif err != nil {\n\t\tpanic(err)\n\t}\n\treturn &v\n}\n",
				name, strings.Join(params, ", "), res, call)
		case fn.addr:
			fmt.Fprintf(&b, "\n// %s is %s for test tables, returning a pointer to the result.\n", name, fn.expr)
			fmt.Fprintf(&b, "func %s(%s) *%s {\n\tv := %s\n\treturn &v\n}\n", name, strings.Join(params, ", "), res, call)
		default:
			fmt.Fprintf(&b, "\n// %s is %s for test tables: it panics on error.\n", name, fn.expr)
			fmt.Fprintf(&b, "func %s(%s) %s {\n\tv, err := %s\n\tif err != nil {\n\t\tpanic(err)\n\t}\n\treturn v\n}\n",
				name, strings.Join(params, ", "), res, call)
		}
	}
	return b.String()
}

// unsupportedResult says why t's results cannot be asserted, or "".
func unsupportedResult(t *target) string {
	errs := 0
	for j, r := range t.results {
		switch r.Type().Underlying().(type) {
		case *types.Signature:
			return "it returns a function, which a test cannot compare"
		case *types.Chan:
			return "it returns a channel, which a test cannot compare"
		}
		if isError(r.Type()) {
			errs++
			if j != len(t.results)-1 {
				return "it returns an error before other results"
			}
		}
		if why := unreachableType(t.obj.Pkg(), r.Type()); why != "" {
			return "its result cannot be named in a test: " + why
		}
	}
	if len(t.results) == 0 {
		for _, p := range t.params {
			if p.mutable {
				return ""
			}
		}
		if t.setsState {
			return "" // tested for not panicking
		}
		return "it returns nothing and changes none of its arguments, so there is nothing to assert"
	}
	return ""
}
