package calc

import "testing"

func TestRed(t *testing.T) {
	t.Fatal("this existing test was red before the agent ran")
}
