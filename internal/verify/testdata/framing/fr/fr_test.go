package fr

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain prints framing-like lines before the first test when asked:
// until a line is marked with ^V, plain lines frame too.
func TestMain(m *testing.M) {
	if os.Getenv("FRAMING_PRELUDE") == "1" {
		fmt.Println("--- FAIL: TestBefore (0.00s)")
		fmt.Println("    --- FAIL: TestBefore/sub (0.00s)")
		fmt.Println("        --- SKIP: TestBefore/sub/deep (0.00s)")
		fmt.Println("        output of TestBefore/sub")
		fmt.Println("    output of TestBefore")
		fmt.Println("=== NAME")
		fmt.Println("--- PASS: TestAlone (0.00s)")
		fmt.Println("        --- FAIL: TestAlone/too/deep (0.00s)")
		fmt.Println("?   \texample.com/fr\t[no test files]")
	}
	os.Exit(m.Run())
}

func TestPlain(t *testing.T) {
	t.Log("one line\nand a second")
}

func TestFail(t *testing.T) {
	t.Errorf("got %d, want %d", 4, 5)
}

func TestSkip(t *testing.T) {
	t.Skip("not today")
}

func TestSubtests(t *testing.T) {
	t.Run("ok", func(t *testing.T) { t.Log("fine") })
	t.Run("bad", func(t *testing.T) {
		t.Run("deeper", func(t *testing.T) { t.Error("deep failure") })
		t.Log("after the deeper one")
	})
	t.Run("skipped", func(t *testing.T) { t.Skip("skip me") })
	fmt.Println("    indented output of the parent")
}

func TestParallelA(t *testing.T) {
	t.Parallel()
	for i := 0; i < 3; i++ {
		t.Logf("A %d", i)
	}
}

func TestParallelB(t *testing.T) {
	t.Parallel()
	for i := 0; i < 3; i++ {
		t.Logf("B %d", i)
	}
	t.Error("B fails")
}

func TestLooksLikeFraming(t *testing.T) {
	fmt.Println("=== RUN   TestFake")
	fmt.Println("--- PASS: TestFake (0.00s)")
	fmt.Println("    --- FAIL: TestSubtests/bad (0.00s)")
	fmt.Println("PASS")
	fmt.Println("FAIL\texample.com/fake\t0.01s")
	fmt.Println("=== NAME")
}

func TestNoNewline(t *testing.T) {
	fmt.Print("no newline at the end")
}

func TestLongLines(t *testing.T) {
	fmt.Println(strings.Repeat("x", 5000))
	for k := 0; k < 4; k++ {
		pad := strings.Repeat("a", k)
		fmt.Println(pad + strings.Repeat("é", 700))
		fmt.Println(pad + strings.Repeat("€", 700))
		fmt.Println(pad + strings.Repeat("𝄞", 700))
	}
	t.Run(strings.Repeat("L", 4200), func(t *testing.T) { t.Log("a subtest whose name is longer than a framing line") })
	fmt.Println("=== RUN   " + strings.Repeat("L", 4200))
	fmt.Print(strings.Repeat("y", 4500))
}

func TestStderr(t *testing.T) {
	fmt.Fprintln(os.Stderr, "to stderr\r")
}

func TestPanic(t *testing.T) {
	t.Run("inner", func(t *testing.T) { panic("boom") })
}

func TestExit0(t *testing.T) {
	os.Exit(0)
}

func TestHang(t *testing.T) {
	time.Sleep(time.Hour)
}
