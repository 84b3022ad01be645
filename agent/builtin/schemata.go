package builtin

import (
	"go/ast"
	"go/token"
	"go/types"
	"os"
	"sort"
	"strconv"
	"strings"
)

// maxCodeMutants bounds the code mutants of one generation.
const maxCodeMutants = 400

// codeMutant is one small change of the package's own code: an operator
// turned into its neighbour (< into <=, == into !=, + into -). A case kills
// it when its outcome under the change differs from its outcome as written:
// a test made of that case would notice the change.
type codeMutant struct {
	id   int // from 1, the value of proberuntime.HpMutant that enables it
	file string
	line int
	from string // the operator as written
	to   string // what the mutant makes of it
}

// schemata writes every code mutant of the module's files into one copy of
// each file (mutant schemata): each change is guarded by HpMutant == its
// number, so a single build of the probe runs any of them. It returns the
// mutated sources by file and the mutants.
//
// An operand is written twice in some guards (a < b becomes
// (a < b || HpMutant == k && a == b)), so only operators whose duplicated
// operands have no side effects are mutated. + and - are mutated on
// integers only: a + b becomes a + b - ((b << 1) << HpShift(k)), exact in
// Go's wrapping arithmetic.
func schemata(m *module) (map[string][]byte, []codeMutant) {
	info := m.pkg.TypesInfo
	srcs := map[string][]byte{}
	var muts []codeMutant
	for _, f := range m.pkg.Syntax {
		name := m.pkg.Fset.File(f.Pos()).Name()
		if !contains(m.files, name) {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		w := &schemaWriter{fset: m.pkg.Fset, info: info, src: src, base: m.pkg.Fset.File(f.Pos()).Base()}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if b, ok := n.(*ast.BinaryExpr); ok && len(muts)+len(w.exprs) < maxCodeMutants {
					if to := w.mutable(b); to != "" {
						w.exprs = append(w.exprs, mutExpr{e: b, id: len(muts) + len(w.exprs) + 1, to: to})
					}
				}
				return true
			})
		}
		if len(w.exprs) == 0 {
			continue
		}
		sort.SliceStable(w.exprs, func(i, j int) bool {
			a, b := w.exprs[i].e, w.exprs[j].e
			if a.Pos() != b.Pos() {
				return a.Pos() < b.Pos()
			}
			return a.End() > b.End()
		})
		for _, x := range w.exprs {
			muts = append(muts, codeMutant{id: x.id, file: name, line: m.pkg.Fset.Position(x.e.OpPos).Line,
				from: x.e.Op.String(), to: x.to})
		}
		sort.Slice(muts, func(i, j int) bool { return muts[i].id < muts[j].id })
		srcs[name] = []byte(w.render(f.FileStart, f.FileEnd))
	}
	return srcs, muts
}

// mutExpr is a binary expression and the mutant that changes it.
type mutExpr struct {
	e  *ast.BinaryExpr
	id int
	to string
}

type schemaWriter struct {
	fset  *token.FileSet
	info  *types.Info
	src   []byte
	base  int
	exprs []mutExpr // sorted by position, outer before inner
}

// flips gives each mutated operator its neighbour.
var flips = map[token.Token]token.Token{
	token.LSS: token.LEQ, token.LEQ: token.LSS, token.GTR: token.GEQ, token.GEQ: token.GTR,
	token.EQL: token.NEQ, token.NEQ: token.EQL, token.ADD: token.SUB, token.SUB: token.ADD,
}

// mutable returns what b's operator becomes, or "" when b is left alone.
func (w *schemaWriter) mutable(b *ast.BinaryExpr) string {
	to, ok := flips[b.Op]
	if !ok {
		return ""
	}
	tv, ok := w.info.Types[b]
	if !ok || tv.Value != nil { // a constant expression: nothing runs
		return ""
	}
	switch b.Op {
	case token.EQL, token.NEQ:
		// Written once: ((a == b) != (HpMutant == k)).
	case token.ADD, token.SUB:
		basic, ok := tv.Type.Underlying().(*types.Basic)
		if !ok || basic.Info()&types.IsInteger == 0 || !w.pure(b.Y) || !w.oneLine(b.Y) {
			return ""
		}
	default:
		if !w.pure(b.X) || !w.pure(b.Y) || !w.oneLine(b) {
			return ""
		}
	}
	return to.String()
}

// oneLine reports whether e is written on one line: a guard writes some
// operands twice, and the mutated file must keep the lines of the original,
// which coverage blocks and mutants are placed by.
func (w *schemaWriter) oneLine(e ast.Expr) bool {
	return w.fset.Position(e.Pos()).Line == w.fset.Position(e.End()).Line
}

// pure reports whether evaluating e twice does what evaluating it once does:
// names, constants, fields, indexing, len and cap, conversions and operators
// over such expressions.
func (w *schemaWriter) pure(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident, *ast.BasicLit:
		return true
	case *ast.ParenExpr:
		return w.pure(x.X)
	case *ast.SelectorExpr:
		if sel, ok := w.info.Selections[x]; ok && sel.Kind() != types.FieldVal {
			return false // a method value
		}
		return w.pure(x.X)
	case *ast.IndexExpr:
		return w.pure(x.X) && w.pure(x.Index)
	case *ast.StarExpr:
		return w.pure(x.X)
	case *ast.UnaryExpr:
		return x.Op != token.ARROW && w.pure(x.X)
	case *ast.BinaryExpr:
		return w.pure(x.X) && w.pure(x.Y)
	case *ast.CallExpr:
		if len(x.Args) != 1 {
			return false
		}
		if tv, ok := w.info.Types[x.Fun]; ok && tv.IsType() {
			return w.pure(x.Args[0]) // a conversion
		}
		if id, ok := x.Fun.(*ast.Ident); ok {
			if b, ok := w.info.Uses[id].(*types.Builtin); ok && (b.Name() == "len" || b.Name() == "cap") {
				return w.pure(x.Args[0])
			}
		}
	}
	return false
}

// text is the source between two positions.
func (w *schemaWriter) text(from, to token.Pos) string {
	return string(w.src[int(from)-w.base : int(to)-w.base])
}

// render writes the source between from and to with every mutated
// expression inside it replaced by its guarded form.
func (w *schemaWriter) render(from, to token.Pos) string {
	var b strings.Builder
	at := from
	for _, x := range w.exprs {
		if x.e.Pos() < at || x.e.End() > to {
			continue // outside, or inside one already written
		}
		b.WriteString(w.text(at, x.e.Pos()))
		b.WriteString(w.guarded(x))
		at = x.e.End()
	}
	b.WriteString(w.text(at, to))
	return b.String()
}

// guarded writes x as the mutated expression under HpMutant == x.id.
func (w *schemaWriter) guarded(x mutExpr) string {
	a := "(" + w.render(x.e.X.Pos(), x.e.X.End()) + ")"
	b := "(" + w.render(x.e.Y.Pos(), x.e.Y.End()) + ")"
	op := x.e.Op.String()
	on := "HpMutant == " + strconv.Itoa(x.id)
	switch x.e.Op {
	case token.EQL, token.NEQ:
		return "((" + a + " " + op + " " + b + ") != (" + on + "))"
	case token.LSS, token.GTR: // < becomes <=: also true on equal operands
		return "(" + a + " " + op + " " + b + " || " + on + " && " + a + " == " + b + ")"
	case token.LEQ, token.GEQ: // <= becomes <: false on equal operands
		return "(" + a + " " + op + " " + b + " && !(" + on + " && " + a + " == " + b + "))"
	case token.ADD: // a + b - 2b
		return "(" + a + " + " + b + " - (" + b + " << 1 << HpShift(" + strconv.Itoa(x.id) + ")))"
	case token.SUB: // a - b + 2b
		return "(" + a + " - " + b + " + (" + b + " << 1 << HpShift(" + strconv.Itoa(x.id) + ")))"
	}
	return w.text(x.e.Pos(), x.e.End())
}
