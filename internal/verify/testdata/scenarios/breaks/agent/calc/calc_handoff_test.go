package calc

import (
	"errors"
	"testing"
)

func TestAbsNegative(t *testing.T) {
	if got := Abs(-4); got != 4 {
		t.Fatalf("Abs(-4) = %d, want 4", got)
	}
}

// passes, but replaces a package variable the existing tests rely on.
func TestDivMutates(t *testing.T) {
	ErrDivByZero = errors.New("boom")
	if _, err := Div(1, 0); err == nil {
		t.Fatal("no error")
	}
}
