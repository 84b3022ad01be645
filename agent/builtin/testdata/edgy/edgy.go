// Package edgy holds functions a characterization-test generator must not
// pretend to test, next to a few it can: it exercises the builtin agent's
// honesty about its limits.
package edgy

import (
	"fmt"
	"io"
	"math/rand"
	"os"
	"strings"
	"time"
)

// Apply calls f on every element: it takes a function, which a test drives
// with stubs returning constants.
func Apply(xs []int, f func(int) int) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// Drain reads a channel: it takes a channel.
func Drain(ch chan int) int {
	n := 0
	for range ch {
		n++
	}
	return n
}

// Shape has no implementation in this package.
type Shape interface {
	Area() float64
}

// TotalArea sums areas: no type of the package implements Shape.
func TotalArea(shapes []Shape) float64 {
	t := 0.0
	for _, s := range shapes {
		t += s.Area()
	}
	return t
}

// ReadConfig reads a file: I/O.
func ReadConfig(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

// loadDefaults reads the environment, one call away from LoadDefaults.
func loadDefaults() string { return os.Getenv("EDGY_DEFAULTS") }

// LoadDefaults reads the environment through a helper: I/O.
func LoadDefaults() string { return strings.ToUpper(loadDefaults()) }

// Stamp depends on the clock.
func Stamp(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

// Roll depends on randomness.
func Roll(sides int) int {
	if sides <= 0 {
		return 0
	}
	return 1 + rand.Intn(sides)
}

var counter int

// Next depends on the calls made before it.
func Next() int {
	counter++
	return counter
}

// Spin never returns for negative n.
func Spin(n int) int {
	for n != 0 {
		n--
	}
	return 42
}

// Exit ends the process for code 7.
func Exit(code int) int {
	if code == 7 {
		os.Exit(7)
	}
	return code * 2
}

// Copy writes to a writer: it takes an interface the package does not
// implement (and does I/O).
func Copy(w io.Writer, s string) error {
	_, err := io.WriteString(w, s)
	return err
}

// Map returns the keys of m: generic.
func Keys[K comparable, V any](m map[K]V) []K {
	var out []K
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Log prints and returns nothing: nothing to assert.
func Log(msg string) {
	fmt.Println(msg)
}

// Clamp is pure and testable.
func Clamp(x, lo, hi int) int {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// Counter is testable through its constructor and methods.
type Counter struct {
	n    int
	step int
}

// NewCounter starts a counter at start.
func NewCounter(start, step int) *Counter {
	if step == 0 {
		step = 1
	}
	return &Counter{n: start, step: step}
}

// Inc advances the counter and returns the new value.
func (c *Counter) Inc() int {
	c.n += c.step
	return c.n
}

// Ticker returns a function: its result cannot be compared.
func Ticker() func() int {
	n := 0
	return func() int { n++; return n }
}
