package verify

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"

	"golang.org/x/tools/cover"

	"github.com/handoff-dev/handoff/agent"
)

// goModuleFile is one source file of a Go module (the file, or each file of
// the package), as profiles name it and as it sits in the task directory.
type goModuleFile struct {
	ProfileName string // import path + "/" + base name
	Rel         string // relative to the task directory
	funcs       []goFuncExtent
}

// goFuncExtent is a function's extent, as go tool cover -func finds it.
type goFuncExtent struct {
	name                                 string
	startLine, startCol, endLine, endCol int
}

// goFuncExtents lists the functions with bodies of a Go file, named like
// stack traces name them: F, T.M, (*T).M.
func goFuncExtents(file string) ([]goFuncExtent, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		return nil, err
	}
	var out []goFuncExtent
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		s, e := fset.Position(fn.Pos()), fset.Position(fn.End())
		out = append(out, goFuncExtent{name: goFuncName(fn), startLine: s.Line, startCol: s.Column, endLine: e.Line, endCol: e.Column})
	}
	return out, nil
}

func goFuncName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	t := fn.Recv.List[0].Type
	star := false
	if s, ok := t.(*ast.StarExpr); ok {
		star, t = true, s.X
	}
	switch x := t.(type) {
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	recv := "?"
	if id, ok := t.(*ast.Ident); ok {
		recv = id.Name
	}
	if star {
		return "(*" + recv + ")." + fn.Name.Name
	}
	return recv + "." + fn.Name.Name
}

// goCoverage computes the module's coverage from a coverage profile the way
// go tool cover -func does: duplicate blocks (one per package under
// -coverpkg) merged by golang.org/x/tools/cover, statements of the module's
// own files only, functions by extent. A file missing from the profile
// counts as not covered.
func goCoverage(profile []byte, files []goModuleFile) (*moduleCoverage, error) {
	profiles, err := cover.ParseProfilesFromReader(bytes.NewReader(profile))
	if err != nil {
		return nil, fmt.Errorf("read coverage profile: %w", err)
	}
	byName := map[string]*cover.Profile{}
	for _, p := range profiles {
		byName[p.FileName] = p
	}
	mc := &moduleCoverage{Covered: unitSet{}}
	var covered, total int64
	for _, mf := range files {
		var blocks []cover.ProfileBlock
		if p := byName[mf.ProfileName]; p != nil {
			blocks = p.Blocks
		}
		for _, fe := range mf.funcs {
			c, t := fe.coverage(blocks)
			covered += c
			total += t
			if t > 0 {
				// A function without statements has nothing to cover (go
				// tool cover -func lists it at 0.0 %).
				mc.Functions = append(mc.Functions, agent.FunctionCoverage{Name: fe.name, Percent: percent(c, t)})
			}
		}
		for _, b := range blocks {
			if b.Count > 0 && b.NumStmt > 0 {
				mc.Covered[blockKey(mf.Rel, b)] = struct{}{}
			}
		}
	}
	mc.Percent = percent(covered, total)
	return mc, nil
}

// goUnits returns the statement blocks of the module a profile reached.
func goUnits(profile []byte, files []goModuleFile) (unitSet, error) {
	mc, err := goCoverage(profile, files)
	if err != nil {
		return nil, err
	}
	return mc.Covered, nil
}

func blockKey(rel string, b cover.ProfileBlock) string {
	return fmt.Sprintf("%s:%d.%d,%d.%d", rel, b.StartLine, b.StartCol, b.EndLine, b.EndCol)
}

// coverage is cmd/cover's FuncExtent.coverage: statements of the blocks
// inside the function, and how many of them ran.
func (f goFuncExtent) coverage(blocks []cover.ProfileBlock) (covered, total int64) {
	for _, b := range blocks {
		if b.StartLine > f.endLine || (b.StartLine == f.endLine && b.StartCol >= f.endCol) {
			break
		}
		if b.EndLine < f.startLine || (b.EndLine == f.startLine && b.EndCol <= f.startCol) {
			continue
		}
		total += int64(b.NumStmt)
		if b.Count > 0 {
			covered += int64(b.NumStmt)
		}
	}
	return covered, total
}

// percent is cmd/cover's: 0 for no statements.
func percent(covered, total int64) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(covered) / float64(total)
}

// loadGoModuleFiles parses the module files' functions.
func loadGoModuleFiles(dir string, files []goModuleFile) error {
	for i := range files {
		fe, err := goFuncExtents(filepath.Join(dir, filepath.FromSlash(files[i].Rel)))
		if err != nil {
			return fmt.Errorf("parse module file %s: %w", files[i].Rel, err)
		}
		files[i].funcs = fe
	}
	sort.Slice(files, func(i, j int) bool { return files[i].ProfileName < files[j].ProfileName })
	return nil
}
