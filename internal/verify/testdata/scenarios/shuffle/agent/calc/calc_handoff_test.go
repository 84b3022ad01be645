package calc

import (
	"errors"
	"flag"
	"testing"
)

func TestAbsNegative(t *testing.T) {
	if got := Abs(-4); got != 4 {
		t.Fatalf("Abs(-4) = %d, want 4", got)
	}
}

// replaces a package variable the existing TestErrTextParallel relies on,
// but only when the tests run in shuffled order: a stand-in for an order
// dependence that every shuffled run shows and the first run does not.
func TestDivShuffled(t *testing.T) {
	if f := flag.Lookup("test.shuffle"); f != nil && f.Value.String() != "off" {
		ErrDivByZero = errors.New("boom")
	}
	if _, err := Div(1, 0); err == nil {
		t.Fatal("no error")
	}
}
