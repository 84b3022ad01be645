// Package semver compares semantic version strings such as "v1.2.3-rc.1",
// in the style of golang.org/x/mod/semver: versions are plain strings with
// a leading "v", and invalid strings compare below valid ones.
package semver

type parsed struct {
	major, minor, patch string
	short               string
	prerelease          string
	build               string
}

// IsValid reports whether v is a valid semantic version string.
func IsValid(v string) bool {
	_, ok := parse(v)
	return ok
}

// Canonical returns the canonical form of v: "v1" and "v1.2" gain ".0"
// parts and build metadata is dropped. It returns "" for invalid versions.
func Canonical(v string) string {
	p, ok := parse(v)
	if !ok {
		return ""
	}
	if p.build != "" {
		return v[:len(v)-len(p.build)]
	}
	if p.short != "" {
		return v + p.short
	}
	return v
}

// Major returns the major version prefix of v ("v2" for "v2.1.0"), or "".
func Major(v string) string {
	pv, ok := parse(v)
	if !ok {
		return ""
	}
	return v[:1+len(pv.major)]
}

// MajorMinor returns the "vX.Y" prefix of v, or "".
func MajorMinor(v string) string {
	pv, ok := parse(v)
	if !ok {
		return ""
	}
	i := 1 + len(pv.major)
	if j := i + 1 + len(pv.minor); j <= len(v) && v[i] == '.' && v[i+1:j] == pv.minor {
		return v[:j]
	}
	return v[:i] + "." + pv.minor
}

// Prerelease returns the prerelease suffix of v, including the "-", or "".
func Prerelease(v string) string {
	pv, ok := parse(v)
	if !ok {
		return ""
	}
	return pv.prerelease
}

// Build returns the build suffix of v, including the "+", or "".
func Build(v string) string {
	pv, ok := parse(v)
	if !ok {
		return ""
	}
	return pv.build
}

// Compare returns -1, 0 or +1 as v is less than, equal to or greater than
// w. An invalid version is less than every valid one, and equal to other
// invalid ones.
func Compare(v, w string) int {
	pv, ok1 := parse(v)
	pw, ok2 := parse(w)
	switch {
	case !ok1 && !ok2:
		return 0
	case !ok1:
		return -1
	case !ok2:
		return +1
	}
	if c := compareInt(pv.major, pw.major); c != 0 {
		return c
	}
	if c := compareInt(pv.minor, pw.minor); c != 0 {
		return c
	}
	if c := compareInt(pv.patch, pw.patch); c != 0 {
		return c
	}
	return comparePrerelease(pv.prerelease, pw.prerelease)
}

// Max returns the larger of v and w, preferring v when they are equal.
func Max(v, w string) string {
	if Compare(v, w) < 0 {
		return w
	}
	return v
}

func parse(v string) (p parsed, ok bool) {
	if v == "" || v[0] != 'v' {
		return p, false
	}
	p.major, v, ok = parseInt(v[1:])
	if !ok {
		return p, false
	}
	if v == "" {
		p.minor, p.patch, p.short = "0", "0", ".0.0"
		return p, true
	}
	if v[0] != '.' {
		return p, false
	}
	p.minor, v, ok = parseInt(v[1:])
	if !ok {
		return p, false
	}
	if v == "" {
		p.patch, p.short = "0", ".0"
		return p, true
	}
	if v[0] != '.' {
		return p, false
	}
	p.patch, v, ok = parseInt(v[1:])
	if !ok {
		return p, false
	}
	if len(v) > 0 && v[0] == '-' {
		p.prerelease, v, ok = parsePrerelease(v)
		if !ok {
			return p, false
		}
	}
	if len(v) > 0 && v[0] == '+' {
		p.build, v, ok = parseBuild(v)
		if !ok {
			return p, false
		}
	}
	if v != "" {
		return p, false
	}
	return p, true
}

func parseInt(v string) (t, rest string, ok bool) {
	if v == "" || v[0] < '0' || v[0] > '9' {
		return "", "", false
	}
	i := 1
	for i < len(v) && '0' <= v[i] && v[i] <= '9' {
		i++
	}
	if v[0] == '0' && i != 1 {
		return "", "", false
	}
	return v[:i], v[i:], true
}

func parsePrerelease(v string) (t, rest string, ok bool) {
	// "-" followed by dot-separated identifiers of [0-9A-Za-z-];
	// numeric identifiers have no leading zeros.
	i := 1
	start := 1
	for i < len(v) && v[i] != '+' {
		if !isIdentChar(v[i]) && v[i] != '.' {
			return "", "", false
		}
		if v[i] == '.' {
			if start == i || isBadNum(v[start:i]) {
				return "", "", false
			}
			start = i + 1
		}
		i++
	}
	if start == i || isBadNum(v[start:i]) {
		return "", "", false
	}
	return v[:i], v[i:], true
}

func parseBuild(v string) (t, rest string, ok bool) {
	i := 1
	start := 1
	for i < len(v) {
		if !isIdentChar(v[i]) && v[i] != '.' {
			return "", "", false
		}
		if v[i] == '.' {
			if start == i {
				return "", "", false
			}
			start = i + 1
		}
		i++
	}
	if start == i {
		return "", "", false
	}
	return v[:i], v[i:], true
}

func isIdentChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-'
}

func isBadNum(v string) bool {
	i := 0
	for i < len(v) && '0' <= v[i] && v[i] <= '9' {
		i++
	}
	return i == len(v) && i > 1 && v[0] == '0'
}

func isNum(v string) bool {
	i := 0
	for i < len(v) && '0' <= v[i] && v[i] <= '9' {
		i++
	}
	return i == len(v)
}

func compareInt(x, y string) int {
	if x == y {
		return 0
	}
	if len(x) < len(y) {
		return -1
	}
	if len(x) > len(y) {
		return +1
	}
	if x < y {
		return -1
	}
	return +1
}

func comparePrerelease(x, y string) int {
	// A version without prerelease is greater than one with.
	if x == y {
		return 0
	}
	if x == "" {
		return +1
	}
	if y == "" {
		return -1
	}
	for x != "" && y != "" {
		x = x[1:] // "-" or "."
		y = y[1:]
		var dx, dy string
		dx, x = nextIdent(x)
		dy, y = nextIdent(y)
		if dx != dy {
			ix := isNum(dx)
			iy := isNum(dy)
			if ix != iy {
				if ix {
					return -1
				}
				return +1
			}
			if ix {
				return compareInt(dx, dy)
			}
			if dx < dy {
				return -1
			}
			return +1
		}
	}
	if x == "" {
		if y == "" {
			return 0
		}
		return -1
	}
	return +1
}

func nextIdent(x string) (dx, rest string) {
	i := 0
	for i < len(x) && x[i] != '.' {
		i++
	}
	return x[:i], x[i:]
}

// Sort orders versions in place from lowest to highest, invalid ones
// first, using insertion sort (the lists are short).
func Sort(list []string) {
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && Compare(list[j-1], list[j]) > 0; j-- {
			list[j-1], list[j] = list[j], list[j-1]
		}
	}
}
