package calc

import "testing"

func TestOld(t *testing.T) {
	if Clamp(9, 0, 3) != 3 {
		t.Fatal("Clamp(9, 0, 3) != 3")
	}
}
