package builtin

import (
	"strings"
	"unicode"
)

// Caps on composed inputs.
const (
	maxComposed     = 40 // composed strings in all
	maxComposedPool = 16 // of those, how many join the string pool
	maxComposeOps   = 12 // operator characters tried inside brackets
)

// bracketPairs are the openers and closers a template or expression
// language delimits its parts with, most specific first.
var bracketPairs = [][2]string{{"${", "}"}, {"{{", "}}"}, {"{", "}"}, {"(", ")"}, {"[", "]"}, {"<", ">"}}

// composeSeparators are the characters a list or key-value parser splits
// on, in the order they are tried.
var composeSeparators = []string{",", ";", "&", "|", ":", "=", "/", ".", " "}

// compose builds inputs of two or more parts from the package's own
// literals, the inputs a parser needs to get past its first branch and
// that inserting one fragment at a time rarely finds: for a package that
// uses both halves of a bracket pair, "{a}", "{+a}" with each operator
// character its switch statements dispatch on, "{a*}", "{a,b}" and
// "x{?a,b}"; for a package that uses separators, "a,b" and "a=b,b=a".
// The names are identifier-like literals of the package ("x" and "y"
// when it has fewer than two).
func compose(l *literals) []string {
	has := map[string]bool{}
	for _, s := range l.strings {
		has[s] = true
	}
	for _, r := range l.runes {
		has[string(r)] = true
	}
	var names []string
	for _, s := range l.strings {
		if len(names) < 2 && isIdentLike(s) {
			names = append(names, s)
		}
	}
	for _, n := range []string{"x", "y"} {
		if len(names) < 2 && !containsString(names, n) {
			names = append(names, n)
		}
	}
	n1, n2 := names[0], names[1]
	var seps []string
	for _, s := range composeSeparators {
		if has[s] && len(seps) < 2 {
			seps = append(seps, s)
		}
	}
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] && len(out) < maxComposed && len(s) <= maxMinedLen {
			seen[s] = true
			out = append(out, s)
		}
	}
	bracketed := false
	for _, p := range bracketPairs {
		o, c := p[0], p[1]
		if !has[o] || !has[c] {
			continue
		}
		var ops []string
		for _, r := range l.caseRunes {
			s := string(r)
			if (unicode.IsPunct(r) || unicode.IsSymbol(r)) && !strings.Contains(o+c, s) && !containsString(ops, s) && len(ops) < maxComposeOps {
				ops = append(ops, s)
			}
		}
		add(o + n1 + c)
		for _, op := range ops {
			add(o + op + n1 + c)
		}
		for _, sep := range seps {
			add(o + n1 + sep + n2 + c)
		}
		for _, op := range ops {
			if op == ":" {
				add(o + n1 + op + "3" + c)
			} else {
				add(o + n1 + op + c)
			}
		}
		for _, op := range ops {
			for _, sep := range seps {
				if sep != op {
					add(n1 + o + op + n1 + sep + n2 + c)
					break
				}
			}
		}
		add(o + n1 + c + "/" + o + n2 + c)
		bracketed = true
		break // the most specific pair the package uses
	}
	// Without brackets, the sigils a scanner dispatches on mark its
	// placeholders and references: before a number and a name ("$1",
	// "a $1", ":a").
	for _, r := range l.caseRunes {
		if bracketed {
			break
		}
		if r == '$' || r == ':' || r == '@' || r == '%' || r == '#' || r == '?' {
			s := string(r)
			add(s + "1")
			add(n1 + " " + s + "1")
			add(s + n1)
		}
	}
	for _, sep := range seps {
		add(n1 + sep + n2)
		if has["="] && sep != "=" {
			add(n1 + "=" + n2 + sep + n2 + "=" + n1)
		}
	}
	return out
}

// isIdentLike reports whether s could name a variable or a key: ASCII
// letters, digits and underscores, starting with a letter, at most 12
// bytes.
func isIdentLike(s string) bool {
	if s == "" || len(s) > 12 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r == '_' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}
