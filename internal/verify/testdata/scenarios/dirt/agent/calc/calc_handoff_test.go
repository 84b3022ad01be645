package calc

import (
	"os"
	"path/filepath"
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

// leaves a file in the package directory.
func TestWritesJunk(t *testing.T) {
	if err := os.WriteFile("junk.txt", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if Clamp(5, 0, 3) != 3 {
		t.Fatal("Clamp(5, 0, 3) != 3")
	}
}

// passes once, leaves its marker, and fails every run after: in the
// user's workspace the second go test would fail.
func TestMarker(t *testing.T) {
	if _, err := os.Stat("marker"); err == nil {
		t.Fatal("marker exists: this test ran here before")
	}
	if err := os.WriteFile("marker", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if q, err := Div(6, 3); err != nil || q != 2 {
		t.Fatal("Div(6, 3) != 2")
	}
}

// writes beside the package too, but cleans up after itself.
func TestCleansUp(t *testing.T) {
	if err := os.WriteFile("tidy.txt", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove("tidy.txt") })
	if err := os.WriteFile(filepath.Join(t.TempDir(), "scratch"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if Clamp(-1, 0, 3) != 0 {
		t.Fatal("Clamp(-1, 0, 3) != 0")
	}
}
