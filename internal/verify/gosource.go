package verify

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/tools/go/ast/astutil"
)

// parseGoTests lists the test functions (func TestX(t *testing.T)) of a Go
// test file and whether each asserts anything.
func parseGoTests(rel string, src []byte) ([]testFunc, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, rel, src, parser.ParseComments)
	if err != nil {
		return nil, &parseError{File: rel, Msg: firstLine(err.Error())}
	}
	var tests []testFunc
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || !isGoTest(fn) {
			continue
		}
		start := fn.Pos()
		if fn.Doc != nil {
			start = fn.Doc.Pos()
		}
		tests = append(tests, testFunc{
			Name:   fn.Name.Name,
			File:   rel,
			Start:  fset.Position(start).Line,
			End:    fset.Position(fn.End()).Line,
			Assert: goAsserts(fn),
		})
	}
	return tests, nil
}

// isGoTest tells whether fn is a test function go test runs: TestXxx with
// one *testing.T parameter and no receiver.
func isGoTest(fn *ast.FuncDecl) bool {
	if fn.Recv != nil || fn.Body == nil || !strings.HasPrefix(fn.Name.Name, "Test") {
		return false
	}
	if rest := fn.Name.Name[4:]; rest != "" {
		r, _ := utf8.DecodeRuneInString(rest)
		if unicode.IsLower(r) {
			return false
		}
	}
	p := fn.Type.Params.List
	return len(p) == 1 && len(p[0].Names) <= 1 && isTestingT(p[0].Type) && fn.Type.Results == nil
}

// isTestingT tells whether a type expression is *<pkg>.T.
func isTestingT(e ast.Expr) bool {
	star, ok := e.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "T"
}

// goFailMethods are the *testing.T methods that make a test fail.
var goFailMethods = map[string]bool{"Error": true, "Errorf": true, "Fatal": true, "Fatalf": true, "Fail": true, "FailNow": true}

// goAsserts tells whether a test can fail by itself: it calls a failing
// method of a *testing.T in scope (its own or a subtest's), passes one to a
// function (require.Equal(t, …), a helper), or panics.
func goAsserts(fn *ast.FuncDecl) bool {
	ts := map[string]bool{}
	addParams := func(ft *ast.FuncType) {
		for _, p := range ft.Params.List {
			if isTestingT(p.Type) || isTestingTB(p.Type) {
				for _, n := range p.Names {
					if n.Name != "_" {
						ts[n.Name] = true
					}
				}
			}
		}
	}
	addParams(fn.Type)
	found := false
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if found {
			return false
		}
		switch x := n.(type) {
		case *ast.FuncLit:
			addParams(x.Type)
		case *ast.CallExpr:
			if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "panic" {
				found = true
			}
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && ts[id.Name] && goFailMethods[sel.Sel.Name] {
					found = true
				}
			}
			for _, a := range x.Args {
				if id, ok := a.(*ast.Ident); ok && ts[id.Name] {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

func isTestingTB(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "TB"
}

// removeGoTests deletes the named top-level test functions (with their doc
// comments) from src, then the imports only they used, and formats the
// result.
func removeGoTests(rel string, src []byte, names []string) ([]byte, error) {
	drop := map[string]bool{}
	for _, n := range names {
		drop[n] = true
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, rel, src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", rel, err)
	}
	type span struct{ from, to int }
	var cuts []span
	usedByRemoved := map[string]bool{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || !drop[fn.Name.Name] {
			continue
		}
		start := fn.Pos()
		if fn.Doc != nil {
			start = fn.Doc.Pos()
		}
		from, to := fset.Position(start).Offset, fset.Position(fn.End()).Offset
		for to < len(src) && src[to] == '\n' {
			to++
		}
		cuts = append(cuts, span{from, to})
		for name := range selectorRoots(fn) {
			usedByRemoved[name] = true
		}
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].from > cuts[j].from })
	out := append([]byte(nil), src...)
	for _, c := range cuts {
		out = append(out[:c.from], out[c.to:]...)
	}
	out = bytes.TrimRight(out, "\n")
	out = append(out, '\n')
	var unused []string
	f2, err := parser.ParseFile(token.NewFileSet(), rel, out, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse %s after removing tests: %w", rel, err)
	}
	stillUsed := selectorRoots(f2)
	for _, imp := range f2.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := importName(imp)
		if name == "_" || name == "." {
			continue
		}
		if usedByRemoved[name] && !stillUsed[name] {
			unused = append(unused, p)
		}
	}
	return removeGoImports(rel, out, unused)
}

// removeGoImports deletes imports by path and formats the file.
func removeGoImports(rel string, src []byte, paths []string) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, rel, src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", rel, err)
	}
	for _, p := range paths {
		for _, imp := range f.Imports {
			if q, _ := strconv.Unquote(imp.Path.Value); q == p {
				var alias string
				if imp.Name != nil {
					alias = imp.Name.Name
				}
				astutil.DeleteNamedImport(fset, f, alias, p)
				break
			}
		}
	}
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, f); err != nil {
		return nil, fmt.Errorf("format %s: %w", rel, err)
	}
	return buf.Bytes(), nil
}

// selectorRoots collects the identifiers used as x in x.Sel under n.
func selectorRoots(n ast.Node) map[string]bool {
	roots := map[string]bool{}
	ast.Inspect(n, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				roots[id.Name] = true
			}
		}
		return true
	})
	return roots
}

// importName is the name an import is used by: its alias, else the name
// assumed from its path the way goimports assumes it.
func importName(imp *ast.ImportSpec) string {
	if imp.Name != nil {
		return imp.Name.Name
	}
	p, _ := strconv.Unquote(imp.Path.Value)
	base := path.Base(p)
	if strings.HasPrefix(base, "v") {
		if _, err := strconv.Atoi(base[1:]); err == nil && path.Dir(p) != "." {
			base = path.Base(path.Dir(p))
		}
	}
	base = strings.TrimPrefix(base, "go-")
	if i := strings.IndexFunc(base, func(r rune) bool {
		return !(unicode.IsLetter(r) || r == '_' || unicode.IsDigit(r))
	}); i >= 0 {
		base = base[:i]
	}
	return base
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
