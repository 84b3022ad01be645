package builtin

import (
	"go/ast"
	"go/types"
	"strings"
	"unicode"
	"unicode/utf8"
)

// target is one exported function or method of the module.
type target struct {
	name     string // as users write it: "Parse", "Stack.Push"
	testName string // "TestParse", "TestStack_Push"
	obj      *types.Func
	sig      *types.Signature
	params   []param // the receiver first, for methods
	results  []*types.Var
	expr     string // how the probe refers to it: "Parse", "(*Stack).Push"
	funcIdx  int    // index in the probe's function table
	errLast  bool   // the last result is an error
	// setsState: its body assigns a package-level variable, a change a
	// call without results may be tested for (that it does not panic).
	setsState bool
	// viaString marks the results asserted through their String method:
	// values that cannot be written as literals (state of another
	// package's unexported fields: *regexp.Regexp, time.Time).
	viaString []bool

	file               string // where it is declared
	startLine, endLine int
	doc                string // its doc comment
}

// param is one input of a target; a method's receiver is its first param.
type param struct {
	name     string
	typ      types.Type // the variadic param's slice type
	variadic bool
	recv     bool
	mutable  bool // a pointer, slice or map whose contents the call may change
}

// stringResult reports whether result j is asserted through its String
// method.
func (t *target) stringResult(j int) bool { return j < len(t.viaString) && t.viaString[j] }

// isMethod reports whether t has a receiver.
func (t *target) isMethod() bool { return len(t.params) > 0 && t.params[0].recv }

// targets lists the exported functions and methods declared in the module's
// files, in file and source order. Methods of unexported types count when
// users can get hold of such a value: a type an exported function or method
// returns, or an exported field holds.
func (m *module) targets() []*target {
	info := m.pkg.TypesInfo
	reachable := reachableTypes(m.pkg.Types)
	var out []*target
	for _, f := range m.pkg.Syntax {
		file := m.pkg.Fset.Position(f.Pos()).Filename
		if !contains(m.files, file) {
			continue
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || !fd.Name.IsExported() {
				continue
			}
			fn, ok := info.Defs[fd.Name].(*types.Func)
			if !ok {
				continue
			}
			t := newTarget(fn, reachable)
			if t == nil {
				continue
			}
			t.file = file
			t.doc = fd.Doc.Text()
			t.setsState = setsPackageVar(fd, info, m.pkg.Types)
			t.startLine = m.pkg.Fset.Position(fd.Pos()).Line
			t.endLine = m.pkg.Fset.Position(fd.End()).Line
			out = append(out, t)
		}
	}
	return out
}

// reachableTypes lists the package's named types a user of the package can
// hold a value of: the exported ones, and the unexported ones that exported
// functions and methods of reachable types return or that exported fields of
// reachable struct types hold (through pointers, slices, arrays and maps).
func reachableTypes(pkg *types.Package) map[*types.TypeName]bool {
	reach := map[*types.TypeName]bool{}
	var work []*types.Named
	var mark func(t types.Type, depth int)
	mark = func(t types.Type, depth int) {
		if depth > 4 {
			return
		}
		switch x := types.Unalias(t).(type) {
		case *types.Pointer:
			mark(x.Elem(), depth+1)
		case *types.Slice:
			mark(x.Elem(), depth+1)
		case *types.Array:
			mark(x.Elem(), depth+1)
		case *types.Map:
			mark(x.Key(), depth+1)
			mark(x.Elem(), depth+1)
		case *types.Named:
			if x.Obj().Pkg() == pkg && !reach[x.Obj()] && x.TypeArgs().Len() == 0 {
				reach[x.Obj()] = true
				work = append(work, x)
			}
		}
	}
	markResults := func(sig *types.Signature) {
		for i := 0; i < sig.Results().Len(); i++ {
			mark(sig.Results().At(i).Type(), 0)
		}
	}
	scope := pkg.Scope()
	for _, n := range scope.Names() {
		switch o := scope.Lookup(n).(type) {
		case *types.TypeName:
			if o.Exported() && !o.IsAlias() {
				mark(o.Type(), 0)
			}
		case *types.Func:
			if o.Exported() {
				markResults(o.Signature())
			}
		}
	}
	for len(work) > 0 {
		named := work[0]
		work = work[1:]
		for i := 0; i < named.NumMethods(); i++ {
			if meth := named.Method(i); meth.Exported() {
				markResults(meth.Signature())
			}
		}
		if st, ok := named.Underlying().(*types.Struct); ok {
			for i := 0; i < st.NumFields(); i++ {
				if f := st.Field(i); f.Exported() {
					mark(f.Type(), 0)
				}
			}
		}
	}
	return reach
}

func newTarget(fn *types.Func, reachable map[*types.TypeName]bool) *target {
	sig := fn.Signature()
	t := &target{name: fn.Name(), obj: fn, sig: sig, expr: fn.Name()}
	if recv := sig.Recv(); recv != nil {
		rt := recv.Type()
		ptr := false
		if p, ok := rt.(*types.Pointer); ok {
			rt, ptr = p.Elem(), true
		}
		named, ok := rt.(*types.Named)
		if !ok || !reachable[named.Obj()] {
			return nil
		}
		tn := named.Obj().Name()
		t.name = tn + "." + fn.Name()
		r, size := utf8.DecodeRuneInString(tn)
		t.testName = "Test" + string(unicode.ToUpper(r)) + tn[size:] + "_" + fn.Name() // go test runs TestX, not Testx
		t.expr = tn + "." + fn.Name()
		if ptr {
			t.expr = "(*" + tn + ")." + fn.Name()
		}
		name := recv.Name()
		if name == "" || name == "_" {
			name = strings.ToLower(tn[:1])
		}
		t.params = append(t.params, param{name: name, typ: recv.Type(), recv: true, mutable: ptr})
	} else {
		t.testName = "Test" + fn.Name()
	}
	for i := 0; i < sig.Params().Len(); i++ {
		v := sig.Params().At(i)
		p := param{name: v.Name(), typ: v.Type()}
		p.variadic = sig.Variadic() && i == sig.Params().Len()-1
		switch v.Type().Underlying().(type) {
		case *types.Pointer, *types.Slice, *types.Map:
			p.mutable = true
		}
		t.params = append(t.params, p)
	}
	for i := 0; i < sig.Results().Len(); i++ {
		r := sig.Results().At(i)
		t.results = append(t.results, r)
		t.viaString = append(t.viaString, !isError(r.Type()) && opaque(r.Type(), fn.Pkg(), 0) && hasStringMethod(r.Type()))
	}
	if n := len(t.results); n > 0 && isError(t.results[n-1].Type()) {
		t.errLast = true
	}
	return t
}

func isError(t types.Type) bool {
	return types.Identical(t, types.Universe.Lookup("error").Type())
}

// opaque reports whether values of t hold unexported state of another
// package, which a literal cannot write.
func opaque(t types.Type, pkg *types.Package, depth int) bool {
	if depth > 8 {
		return false
	}
	switch x := types.Unalias(t).(type) {
	case *types.Pointer:
		return opaque(x.Elem(), pkg, depth+1)
	case *types.Slice:
		return opaque(x.Elem(), pkg, depth+1)
	case *types.Array:
		return opaque(x.Elem(), pkg, depth+1)
	case *types.Map:
		return opaque(x.Key(), pkg, depth+1) || opaque(x.Elem(), pkg, depth+1)
	case *types.Named:
		st, ok := x.Underlying().(*types.Struct)
		if !ok {
			return false
		}
		for i := 0; i < st.NumFields(); i++ {
			f := st.Field(i)
			if !f.Exported() && x.Obj().Pkg() != pkg || opaque(f.Type(), pkg, depth+1) {
				return true
			}
		}
	}
	return false
}

// hasStringMethod reports whether a variable of type t has a String()
// string method.
func hasStringMethod(t types.Type) bool {
	obj, _, _ := types.LookupFieldOrMethod(t, true, nil, "String")
	fn, ok := obj.(*types.Func)
	if !ok {
		return false
	}
	sig := fn.Signature()
	return sig.Params().Len() == 0 && sig.Results().Len() == 1 && isString(sig.Results().At(0).Type())
}

// setsPackageVar reports whether fd's body assigns a package-level
// variable of pkg (or an element or field of one).
func setsPackageVar(fd *ast.FuncDecl, info *types.Info, pkg *types.Package) bool {
	if fd.Body == nil {
		return false
	}
	isPkgVar := func(e ast.Expr) bool {
		for {
			switch x := e.(type) {
			case *ast.SelectorExpr:
				e = x.X
				continue
			case *ast.IndexExpr:
				e = x.X
				continue
			case *ast.ParenExpr:
				e = x.X
				continue
			case *ast.Ident:
				v, ok := info.Uses[x].(*types.Var)
				return ok && v.Parent() == pkg.Scope()
			}
			return false
		}
	}
	found := false
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				found = found || isPkgVar(l)
			}
		case *ast.IncDecStmt:
			found = found || isPkgVar(n.X)
		}
		return !found
	})
	return found
}
