package calc

import "testing"

func TestAbsNegative(t *testing.T) {
	if got := Abs(-4); got != 4 {
		t.Fatalf("Abs(-4) = %d, want 4", got)
	}
}

func TestAbsPositive(t *testing.T) {
	if got := Abs(4); got != 4 {
		t.Fatalf("Abs(4) = %d, want 4", got)
	}
}

func TestClamp(t *testing.T) {
	for _, c := range []struct{ v, want int }{{-1, 0}, {2, 2}, {9, 3}} {
		if got := Clamp(c.v, 0, 3); got != c.want {
			t.Errorf("Clamp(%d, 0, 3) = %d, want %d", c.v, got, c.want)
		}
	}
}

func TestDiv(t *testing.T) {
	if q, err := Div(7, 2); err != nil || q != 3 {
		t.Fatalf("Div(7, 2) = %d, %v", q, err)
	}
	if _, err := Div(1, 0); err != ErrDivByZero {
		t.Fatalf("Div(1, 0) error = %v", err)
	}
}
