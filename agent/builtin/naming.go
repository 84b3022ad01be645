package builtin

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/handoff-dev/handoff/agent/builtin/internal/proberuntime"
)

// maxCaseName bounds a case name, in runes.
const maxCaseName = 40

// caseName describes a call by its arguments: "v1.2.3", "empty_3",
// "NewStack_1". Names hold no spaces, slashes, quotes or backslashes, so
// that go test prints them unchanged and -run can select them.
func caseName(c *candidate) string {
	var parts []string
	for i, a := range c.args {
		if c.t.params[i].recv && !constructed(a) && len(c.args) > 1 {
			continue
		}
		parts = append(parts, argToken(a))
	}
	if c.twice {
		parts = append(parts, "twice")
	}
	return sanitizeName(strings.Join(parts, "_"))
}

func argToken(v *value) string {
	switch v.kind {
	case proberuntime.HpKindLit:
		if s, err := strconv.Unquote(v.src); err == nil {
			if s == "" {
				return "empty"
			}
			return s
		}
		if strings.HasPrefix(v.src, "math.") {
			return strings.TrimPrefix(v.src, "math.")
		}
		return v.src
	case proberuntime.HpKindZero:
		return "zero"
	case proberuntime.HpKindFunc:
		var parts []string
		for _, e := range v.elems {
			parts = append(parts, argToken(e))
		}
		return "func" + strings.Join(parts, ",")
	case proberuntime.HpKindSlice, proberuntime.HpKindArray:
		if len(v.elems) == 0 {
			return "none"
		}
		var parts []string
		for i, e := range v.elems {
			if i == 3 {
				parts = append(parts, "more")
				break
			}
			parts = append(parts, argToken(e))
		}
		return strings.Join(parts, ",")
	case proberuntime.HpKindMap:
		return "map" + strconv.Itoa(len(v.elems)/2)
	case proberuntime.HpKindStruct:
		if len(v.elems) == 0 {
			return "zero"
		}
		return argToken(v.elems[0])
	case proberuntime.HpKindPtr, proberuntime.HpKindIface, proberuntime.HpKindDeref:
		if len(v.elems) == 0 {
			return "zero"
		}
		return argToken(v.elems[0])
	case proberuntime.HpKindCall:
		s := v.fn.expr
		for _, e := range v.elems {
			s += "_" + argToken(e)
		}
		return s
	}
	return "value"
}

// sanitizeName keeps a case name readable in go test output.
func sanitizeName(s string) string {
	var b strings.Builder
	n := 0
	lastUnderscore := false
	for _, r := range s {
		if n >= maxCaseName {
			break
		}
		ok := unicode.IsPrint(r) && !unicode.IsSpace(r) && !strings.ContainsRune("/\\\"`", r)
		if !ok {
			if lastUnderscore {
				continue
			}
			r = '_'
		}
		lastUnderscore = r == '_'
		b.WriteRune(r)
		n++
	}
	out := strings.Trim(b.String(), "_")
	if out == "" {
		return "case"
	}
	return out
}

// normalizeTestName is how go test reports a subtest name (spaces become
// underscores), for matching names in verification feedback.
func normalizeTestName(s string) string {
	return strings.ReplaceAll(s, " ", "_")
}

// takenNames are the package-level names a generated file must not declare:
// the package's own, and those of its other test files.
func takenNames(m *module) map[string]bool {
	taken := map[string]bool{}
	for _, n := range m.pkg.Types.Scope().Names() {
		taken[n] = true
	}
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return taken
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		path := filepath.Join(m.dir, e.Name())
		if !strings.HasSuffix(e.Name(), "_test.go") || path == m.output {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					taken[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							taken[n.Name] = true
						}
					case *ast.TypeSpec:
						taken[s.Name.Name] = true
					}
				}
			}
		}
	}
	return taken
}

// freeName returns name, or name with a suffix when it is taken, and
// marks the result taken.
func freeName(taken map[string]bool, name, suffix string) string {
	out := name
	for i := 2; taken[out]; i++ {
		out = name + suffix
		if i > 2 {
			out += strconv.Itoa(i - 1)
		}
	}
	taken[out] = true
	return out
}
