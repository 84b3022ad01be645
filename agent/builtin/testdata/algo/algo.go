// Package algo holds the small algorithms programs keep rewriting: greatest
// common divisors, primes, binary search, edit distance, Roman numerals and
// a stack.
package algo

import (
	"errors"
	"strings"
)

// GCD returns the greatest common divisor of a and b, always >= 0.
func GCD(a, b int) int {
	if a < 0 {
		a = -a
	}
	if b < 0 {
		b = -b
	}
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// IsPrime reports whether n is prime.
func IsPrime(n int) bool {
	if n < 2 {
		return false
	}
	if n%2 == 0 {
		return n == 2
	}
	for d := 3; d*d <= n; d += 2 {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// BinarySearch returns the index of x in the sorted slice xs, or -1.
func BinarySearch(xs []int, x int) int {
	lo, hi := 0, len(xs)-1
	for lo <= hi {
		mid := int(uint(lo+hi) >> 1)
		switch {
		case xs[mid] < x:
			lo = mid + 1
		case xs[mid] > x:
			hi = mid - 1
		default:
			return mid
		}
	}
	return -1
}

// Levenshtein returns the edit distance between a and b, in runes.
func Levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

var romans = []struct {
	value  int
	symbol string
}{
	{1000, "M"}, {900, "CM"}, {500, "D"}, {400, "CD"}, {100, "C"}, {90, "XC"},
	{50, "L"}, {40, "XL"}, {10, "X"}, {9, "IX"}, {5, "V"}, {4, "IV"}, {1, "I"},
}

// ErrRange is returned for numbers Roman numerals cannot write.
var ErrRange = errors.New("algo: number out of range 1..3999")

// ToRoman writes n in Roman numerals.
func ToRoman(n int) (string, error) {
	if n < 1 || n > 3999 {
		return "", ErrRange
	}
	var b strings.Builder
	for _, r := range romans {
		for n >= r.value {
			b.WriteString(r.symbol)
			n -= r.value
		}
	}
	return b.String(), nil
}

// FromRoman reads a Roman numeral; it accepts only the canonical form
// ToRoman writes.
func FromRoman(s string) (int, error) {
	if s == "" {
		return 0, errors.New("algo: empty numeral")
	}
	n, rest := 0, s
	for _, r := range romans {
		for strings.HasPrefix(rest, r.symbol) {
			n += r.value
			rest = rest[len(r.symbol):]
		}
	}
	if rest != "" {
		return 0, errors.New("algo: bad numeral " + s)
	}
	if canon, _ := ToRoman(n); canon != s {
		return 0, errors.New("algo: non-canonical numeral " + s + ", write " + canon)
	}
	return n, nil
}

// Stack is a stack of ints.
type Stack struct {
	items []int
}

// NewStack returns a stack holding items, the last on top.
func NewStack(items ...int) *Stack {
	return &Stack{items: append([]int(nil), items...)}
}

// Push puts v on top.
func (s *Stack) Push(v int) {
	s.items = append(s.items, v)
}

// Pop removes and returns the top item; ok is false on an empty stack.
func (s *Stack) Pop() (v int, ok bool) {
	if len(s.items) == 0 {
		return 0, false
	}
	v = s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return v, true
}

// Peek returns the top item. It panics on an empty stack, like indexing
// an empty slice.
func (s *Stack) Peek() int {
	return s.items[len(s.items)-1]
}

// Len returns the number of items.
func (s *Stack) Len() int { return len(s.items) }
