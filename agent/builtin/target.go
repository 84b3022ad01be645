package builtin

import (
	"go/ast"
	"go/types"
	"strings"
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

// isMethod reports whether t has a receiver.
func (t *target) isMethod() bool { return len(t.params) > 0 && t.params[0].recv }

// targets lists the exported functions and methods declared in the module's
// files, in file and source order.
func (m *module) targets() []*target {
	info := m.pkg.TypesInfo
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
			t := newTarget(fn)
			if t == nil {
				continue
			}
			t.file = file
			t.doc = fd.Doc.Text()
			t.startLine = m.pkg.Fset.Position(fd.Pos()).Line
			t.endLine = m.pkg.Fset.Position(fd.End()).Line
			out = append(out, t)
		}
	}
	return out
}

func newTarget(fn *types.Func) *target {
	sig := fn.Signature()
	t := &target{name: fn.Name(), obj: fn, sig: sig, expr: fn.Name()}
	if recv := sig.Recv(); recv != nil {
		rt := recv.Type()
		ptr := false
		if p, ok := rt.(*types.Pointer); ok {
			rt, ptr = p.Elem(), true
		}
		named, ok := rt.(*types.Named)
		if !ok || !named.Obj().Exported() {
			return nil
		}
		tn := named.Obj().Name()
		t.name = tn + "." + fn.Name()
		t.testName = "Test" + tn + "_" + fn.Name()
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
		t.results = append(t.results, sig.Results().At(i))
	}
	if n := len(t.results); n > 0 && isError(t.results[n-1].Type()) {
		t.errLast = true
	}
	return t
}

func isError(t types.Type) bool {
	return types.Identical(t, types.Universe.Lookup("error").Type())
}
