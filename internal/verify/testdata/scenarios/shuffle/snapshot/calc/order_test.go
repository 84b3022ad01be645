package calc

import "testing"

// A parallel test runs after every sequential one, whatever the order.
func TestErrTextParallel(t *testing.T) {
	t.Parallel()
	if ErrDivByZero.Error() != "division by zero" {
		t.Fatalf("ErrDivByZero says %q", ErrDivByZero)
	}
}
