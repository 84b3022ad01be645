package calc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// good: covers the negative branch of Abs.
func TestAbsNegative(t *testing.T) {
	if got := Abs(-4); got != 4 {
		t.Fatalf("Abs(-4) = %d, want 4", got)
	}
}

// passes, but Add is covered by the existing TestAdd already.
func TestAddAgain(t *testing.T) {
	if Add(2, 2) != 4 {
		t.Error("2+2 is not 4")
	}
}

// fails against the real Clamp.
func TestClampWrong(t *testing.T) {
	if got := Clamp(5, 0, 3); got != 5 {
		t.Fatalf("Clamp(5, 0, 3) = %d, want 5", got)
	}
}

// asserts nothing.
func TestAbsNoAssert(t *testing.T) {
	Abs(3)
}

// does not compile: Mul does not exist.
func TestMul(t *testing.T) {
	if Mul(2, 3) != 6 {
		t.Fatal("Mul(2, 3) != 6")
	}
}

// good: covers the error branch of Div.
func TestDivByZero(t *testing.T) {
	if _, err := Div(1, 0); err != ErrDivByZero {
		t.Fatalf("Div(1, 0) error = %v, want ErrDivByZero", err)
	}
}

// never ends, and leaves a child process behind.
func TestHang(t *testing.T) {
	cmd := exec.Command("sleep", "3601")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
}

// passes on odd runs only (a counter in the temporary directory).
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
