package builtin

import (
	"go/types"
)

// funcTable numbers the functions the probe calls: the targets and the
// constructors and known functions values are built with.
type funcTable struct {
	list  []funcRef
	byKey map[string]int
}

// funcRef is how the probe's generated file names a function.
type funcRef struct {
	pkg  *types.Package // nil for the package under test
	expr string         // "Parse", "(*Stack).Push", or a member of pkg
}

func newFuncTable() *funcTable { return &funcTable{byKey: map[string]int{}} }

// add returns the index of the function, adding it once.
func (ft *funcTable) add(pkg *types.Package, expr string) int {
	key := expr
	if pkg != nil {
		key = pkg.Path() + "." + expr
	}
	if i, ok := ft.byKey[key]; ok {
		return i
	}
	ft.byKey[key] = len(ft.list)
	ft.list = append(ft.list, funcRef{pkg: pkg, expr: expr})
	return len(ft.list) - 1
}
