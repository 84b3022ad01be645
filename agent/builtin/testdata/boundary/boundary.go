// Package boundary has comparisons whose edges a test must pin down: each
// behaves differently on equal operands or one step off.
package boundary

// Grade maps a score to a letter: 90 and over is an A, 80 and over a B,
// anything less a C.
func Grade(score int) string {
	switch {
	case score >= 90:
		return "A"
	case score >= 80:
		return "B"
	}
	return "C"
}

// Within reports whether x lies in the half-open range [lo, hi).
func Within(x, lo, hi int) bool {
	return lo <= x && x < hi
}

// Next is the index after i in a list of n elements, or i itself at the
// end of the list.
func Next(i, n int) int {
	if i+1 < n {
		return i + 1
	}
	return i
}
