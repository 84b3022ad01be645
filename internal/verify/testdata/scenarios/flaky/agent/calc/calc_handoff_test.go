package calc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestAbsNegative(t *testing.T) {
	if got := Abs(-4); got != 4 {
		t.Fatalf("Abs(-4) = %d, want 4", got)
	}
}

// passes on odd runs only (a counter in the temporary directory): it fails
// in the first stability run.
func TestClampFlaky(t *testing.T) {
	p := filepath.Join(os.TempDir(), "handoff-flaky-counter")
	b, _ := os.ReadFile(p)
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	n++
	if err := os.WriteFile(p, []byte(strconv.Itoa(n)), 0o644); err != nil {
		t.Fatal(err)
	}
	if n%2 == 0 {
		t.Fatalf("run %d fails", n)
	}
	if Clamp(-1, 0, 3) != 0 {
		t.Fatal("Clamp(-1, 0, 3) != 0")
	}
}
