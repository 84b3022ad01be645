package builtin

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/tools/go/types/typeutil"
)

// Caps on what is mined from the source.
const (
	maxMinedStrings = 64
	maxMinedNumbers = 32
	maxMinedLen     = 40
	// maxTemplateLen bounds a template of a comment: a URN of a UUID is 45
	// bytes.
	maxTemplateLen = 64
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
	// caseRunes are the one-rune literals of case clauses, in source
	// order: the characters a parser's switch dispatches on.
	caseRunes []rune
	ints      []*big.Int
	floats    []float64
	consts    []namedConst // package-level constants, in declaration order
	// composed are inputs of several parts built from the literals
	// (compose): "{a}", "x{?a,y}", "a,y".
	composed []string

	// Examples quoted in comments ("12.05", 1205): inputs a person would
	// choose, preferred when they do as well as others.
	docStrings []string
	docInts    []*big.Int
	docFloats  []float64

	// switchTypes are the types the package's type switches and type
	// assertions name, in source order: the dynamic types its
	// interface-typed inputs are expected to hold.
	switchTypes []types.Type
}

var (
	docQuoted = regexp.MustCompile(`"((?:[^"\\\n]|\\.){1,40})"`)
	docNumber = regexp.MustCompile(`(?:^|[\s(=,:])(-?[0-9]+(?:\.[0-9]+)?)(?:$|[\s),.;:%])`)
)

// mine collects the literals of the package's non-test files in the order
// of files given and then of source, each value once.
func mine(files []*ast.File, info *types.Info) *literals {
	l := &literals{}
	seenS := map[string]bool{}
	seenR := map[rune]bool{}
	seenI := map[string]bool{}
	seenF := map[float64]bool{}
	seenCase := map[rune]bool{}
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
	var seenT typeutil.Map
	addType := func(t types.Type) {
		if t == nil || seenT.At(t) != nil || len(l.switchTypes) >= maxMinedNumbers {
			return
		}
		if b, ok := t.(*types.Basic); ok && b.Kind() == types.UntypedNil {
			return
		}
		seenT.Set(t, true)
		l.switchTypes = append(l.switchTypes, t)
	}
	for _, f := range files {
		var visit func(n ast.Node) bool
		visit = func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ImportSpec:
				return false
			case *ast.Field:
				// A struct tag is metadata, not a value the code uses.
				if n.Tag != nil {
					ast.Inspect(n.Type, visit)
					return false
				}
			case *ast.TypeSwitchStmt:
				for _, st := range n.Body.List {
					for _, e := range st.(*ast.CaseClause).List {
						addType(info.TypeOf(e))
					}
				}
			case *ast.TypeAssertExpr:
				if n.Type != nil {
					addType(info.TypeOf(n.Type))
				}
			case *ast.CaseClause:
				for _, e := range n.List {
					if r, ok := oneRune(e); ok && !seenCase[r] {
						seenCase[r] = true
						l.caseRunes = append(l.caseRunes, r)
					}
				}
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
		}
		ast.Inspect(f, visit)
	}
	mineComments(l, files)
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
	// In the order of files given, then of declaration.
	sort.Slice(consts, func(i, j int) bool { return consts[i].Pos() < consts[j].Pos() })
	sort.SliceStable(consts, func(i, j int) bool { return fileIndex(files, consts[i].Pos()) < fileIndex(files, consts[j].Pos()) })
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
	l.composed = compose(l)
	return l
}

// mineComments collects the quoted strings and numbers of the package's
// comments.
func mineComments(l *literals, files []*ast.File) {
	for _, f := range files {
		for _, cg := range f.Comments {
			mineText(l, cg.Text())
		}
	}
}

// mineText adds the quoted strings, the filled-in templates and the numbers
// of a comment's text, each once.
func mineText(l *literals, text string) {
	for _, m := range docQuoted.FindAllStringSubmatch(text, -1) {
		s, err := strconv.Unquote(`"` + m[1] + `"`)
		if err != nil || len(l.docStrings) >= maxMinedStrings || !utf8.ValidString(s) || containsString(l.docStrings, s) {
			continue
		}
		l.docStrings = append(l.docStrings, s)
	}
	// After the quoted strings: a doc comment's quoted example is its
	// function's first case (docExamples), a template only fills in a shape.
	for _, f := range strings.Fields(text) {
		for _, s := range fillTemplate(f) {
			if len(l.docStrings) < maxMinedStrings && !containsString(l.docStrings, s) {
				l.docStrings = append(l.docStrings, s)
			}
		}
	}
	for _, m := range docNumber.FindAllStringSubmatch(text, -1) {
		if len(l.docInts)+len(l.docFloats) >= maxMinedNumbers {
			break
		}
		if n, ok := new(big.Int).SetString(m[1], 10); ok {
			if !containsInt(l.docInts, n) {
				l.docInts = append(l.docInts, n)
			}
		} else if x, err := strconv.ParseFloat(m[1], 64); err == nil && !containsFloat(l.docFloats, x) {
			l.docFloats = append(l.docFloats, x)
		}
	}
}

// templateFills are the placeholder letters a comment writes a format
// with ("xxxxxxxx-xxxx", "nnn.nnn", "####"), and the digits that fill each.
var templateFills = map[byte][]string{
	'x': {"0123456789abcdef", "fedcba9876543210"},
	'X': {"0123456789ABCDEF", "FEDCBA9876543210"},
	'h': {"0123456789abcdef"},
	'H': {"0123456789ABCDEF"},
	'n': {"1234567890"},
	'N': {"1234567890"},
	'd': {"1234567890"},
	'9': {"1234567890"},
	'#': {"1234567890"},
}

// minTemplateRun is the shortest run of one placeholder letter that makes
// a word of a comment a template: "xxxx" is one, "xx" is a word.
const minTemplateRun = 4

// fillTemplate turns a word of a comment that writes an input's shape with
// placeholder letters, such as "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" or
// "urn:uuid:xxxxxxxx-…", into inputs of that shape: each run of the
// placeholder filled with digits ("{01234567-89ab-…}"), once counting up and
// once down. A parser that switches on the input's length or checks a
// separator at a fixed offset needs such an input, and neither random
// changes nor the package's literals give it. Punctuation that ends the
// sentence or opens a parenthesis around the word is not part of it.
func fillTemplate(word string) []string {
	word = strings.TrimRight(word, ".,;:")
	if strings.HasPrefix(word, "(") && !strings.Contains(word, ")") {
		word = word[1:]
	}
	if strings.HasSuffix(word, ")") && !strings.Contains(word, "(") {
		word = word[:len(word)-1]
	}
	if len(word) > maxTemplateLen {
		return nil
	}
	var ph byte
	for i := 0; i < len(word); {
		j := i
		for j < len(word) && word[j] == word[i] {
			j++
		}
		if _, ok := templateFills[word[i]]; ok && j-i >= minTemplateRun {
			ph = word[i]
			break
		}
		i = j
	}
	if ph == 0 {
		return nil
	}
	var out []string
	for _, digits := range templateFills[ph] {
		var b strings.Builder
		k := 0
		for i := 0; i < len(word); i++ {
			// A lone placeholder letter is a letter of the word
			// ("urn:uuid:" keeps its "d"); a run of two or more is filled.
			run := i+1 < len(word) && word[i+1] == ph || i > 0 && word[i-1] == ph
			if word[i] == ph && run {
				b.WriteByte(digits[k%len(digits)])
				k++
			} else {
				b.WriteByte(word[i])
			}
		}
		if s := b.String(); len(s) <= maxTemplateLen {
			out = append(out, s)
		}
	}
	return out
}

// fileIndex is the index in files of the file holding pos.
func fileIndex(files []*ast.File, pos token.Pos) int {
	for i, f := range files {
		if f.FileStart <= pos && pos <= f.FileEnd {
			return i
		}
	}
	return len(files)
}

// oneRune is the rune of a one-rune character or string literal.
func oneRune(e ast.Expr) (rune, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || (lit.Kind != token.CHAR && lit.Kind != token.STRING) {
		return 0, false
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil || utf8.RuneCountInString(s) != 1 {
		return 0, false
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r, true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsInt(list []*big.Int, n *big.Int) bool {
	for _, x := range list {
		if x.Cmp(n) == 0 {
			return true
		}
	}
	return false
}

func containsFloat(list []float64, f float64) bool {
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}
