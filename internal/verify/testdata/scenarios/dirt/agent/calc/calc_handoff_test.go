package calc

import (
	"os"
	"testing"
)

func TestAbsNegative(t *testing.T) {
	if got := Abs(-4); got != 4 {
		t.Fatalf("Abs(-4) = %d, want 4", got)
	}
}

// rewrites the module's source while it runs.
func TestRewritesSource(t *testing.T) {
	src, err := os.ReadFile("calc.go")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("calc.go", append(src, "\n// rewritten by a test\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if Clamp(9, 0, 3) != 3 {
		t.Fatal("Clamp(9, 0, 3) != 3")
	}
}

// leaves a file in the package directory: removed, not held against it.
func TestWritesJunk(t *testing.T) {
	if err := os.WriteFile("junk.txt", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if Clamp(-1, 0, 3) != 0 {
		t.Fatal("Clamp(-1, 0, 3) != 0")
	}
}
