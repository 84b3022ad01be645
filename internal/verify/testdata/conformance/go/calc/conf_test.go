package calc

import (
	"strings"
	"testing"
)

func TestPass(t *testing.T) {
	if Abs(-1) != 1 {
		t.Fatal("Abs(-1) != 1")
	}
}

func TestFail(t *testing.T) {
	if got := Clamp(5, 0, 3); got != 5 {
		t.Fatalf("Clamp(5, 0, 3) = %d", got)
	}
}

func TestSkip(t *testing.T) {
	t.Skip("not today")
}

func TestNoAssert(t *testing.T) {
	_ = strings.ToUpper("x")
	Div(4, 2)
}
