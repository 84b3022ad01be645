package builtin

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"math/big"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Caps on what is mined from the source.
const (
	maxMinedStrings = 64
	maxMinedNumbers = 32
	maxMinedLen     = 40
)

// namedConst is a constant declared in the package, usable by name.
type namedConst struct {
	obj *types.Const
}

// literals are the constants found in the package's own source: the values
// its code compares against, splits on or switches over.
type literals struct {
	strings []string
	runes   []rune
	ints    []*big.Int
	floats  []float64
	consts  []namedConst // package-level constants, in declaration order
}

// mine collects the literals of the package's non-test files in source
// order, each value once.
func mine(files []*ast.File, info *types.Info) *literals {
	l := &literals{}
	seenS := map[string]bool{}
	seenR := map[rune]bool{}
	seenI := map[string]bool{}
	seenF := map[float64]bool{}
	addString := func(s string) {
		if !seenS[s] && len(l.strings) < maxMinedStrings && len(s) <= maxMinedLen && utf8.ValidString(s) {
			seenS[s] = true
			l.strings = append(l.strings, s)
		}
	}
	addInt := func(n *big.Int) {
		if !seenI[n.String()] && len(l.ints) < maxMinedNumbers {
			seenI[n.String()] = true
			l.ints = append(l.ints, n)
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if _, ok := n.(*ast.ImportSpec); ok {
				return false
			}
			lit, ok := n.(*ast.BasicLit)
			if !ok {
				return true
			}
			switch lit.Kind {
			case token.STRING:
				if s, err := strconv.Unquote(lit.Value); err == nil {
					addString(s)
				}
			case token.CHAR:
				if s, err := strconv.Unquote(lit.Value); err == nil {
					r, _ := utf8.DecodeRuneInString(s)
					if !seenR[r] {
						seenR[r] = true
						l.runes = append(l.runes, r)
					}
					addString(s)
				}
			case token.INT:
				if n, ok := new(big.Int).SetString(lit.Value, 0); ok {
					addInt(n)
				}
			case token.FLOAT:
				if x, err := strconv.ParseFloat(lit.Value, 64); err == nil && !seenF[x] && len(l.floats) < maxMinedNumbers {
					seenF[x] = true
					l.floats = append(l.floats, x)
				}
			}
			return true
		})
	}
	// Named constants: their values join the pools, and constants of named
	// types are written by name.
	var consts []*types.Const
	for id, obj := range info.Defs {
		c, ok := obj.(*types.Const)
		if !ok || id.Name == "_" || c.Parent() != c.Pkg().Scope() {
			continue
		}
		consts = append(consts, c)
	}
	sort.Slice(consts, func(i, j int) bool { return consts[i].Pos() < consts[j].Pos() })
	for _, c := range consts {
		l.consts = append(l.consts, namedConst{obj: c})
		switch c.Val().Kind() {
		case constant.String:
			addString(constant.StringVal(c.Val()))
		case constant.Int:
			if n, ok := new(big.Int).SetString(c.Val().ExactString(), 10); ok {
				addInt(n)
			}
		}
	}
	return l
}
