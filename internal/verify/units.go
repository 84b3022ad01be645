package verify

import "sort"

// unitSet is a set of coverage units: Go statement blocks
// ("file.go:3.24,3.40"), Python lines ("L12") and branch arcs ("B12>14").
type unitSet map[string]struct{}

func newUnitSet(units ...string) unitSet {
	u := make(unitSet, len(units))
	for _, x := range units {
		u[x] = struct{}{}
	}
	return u
}

func (u unitSet) addAll(o unitSet) {
	for x := range o {
		u[x] = struct{}{}
	}
}

// newIn counts the units of u that are not in base.
func (u unitSet) newIn(base unitSet) int {
	n := 0
	for x := range u {
		if _, ok := base[x]; !ok {
			n++
		}
	}
	return n
}

func (u unitSet) sorted() []string {
	out := make([]string, 0, len(u))
	for x := range u {
		out = append(out, x)
	}
	sort.Strings(out)
	return out
}
