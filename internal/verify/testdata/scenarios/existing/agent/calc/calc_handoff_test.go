package calc

import "testing"

func TestOld(t *testing.T) {
	if Clamp(9, 0, 3) != 3 {
		t.Fatal("Clamp(9, 0, 3) != 3")
	}
}

func TestAbsNegative(t *testing.T) {
	if got := Abs(-4); got != 4 {
		t.Fatalf("Abs(-4) = %d, want 4", got)
	}
}

func TestClampWrong(t *testing.T) {
	if got := Clamp(5, 0, 3); got != 5 {
		t.Fatalf("Clamp(5, 0, 3) = %d, want 5", got)
	}
}
