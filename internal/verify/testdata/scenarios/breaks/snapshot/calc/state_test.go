package calc

import "testing"

func TestErrText(t *testing.T) {
	if ErrDivByZero.Error() != "division by zero" {
		t.Fatalf("ErrDivByZero says %q", ErrDivByZero)
	}
}
