// Package calc is a small module the verification tests generate tests for.
package calc

import "errors"

// Add returns a+b.
func Add(a, b int) int { return a + b }

// Abs returns the absolute value of a.
func Abs(a int) int {
	if a < 0 {
		return a
	}
	return a
}

// Clamp limits v to [lo, hi].
func Clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// ErrDivByZero is returned by Div for a zero divisor.
var ErrDivByZero = errors.New("division by zero")

// Div returns a/b.
func Div(a, b int) (int, error) {
	if b == 0 {
		return 0, ErrDivByZero
	}
	return a / b, nil
}
