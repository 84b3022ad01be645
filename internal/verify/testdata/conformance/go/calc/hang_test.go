package calc

import (
	"os/exec"
	"testing"
)

func TestHang(t *testing.T) {
	if err := exec.Command("sleep", "3604").Run(); err != nil {
		t.Fatal(err)
	}
}
