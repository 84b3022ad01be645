// Package python_test runs the Python client's pytest suite (clients/python/tests) against
// the handoff command built from this tree, so that CI runs it with the Go tests.
package python_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/internal/testenv"
)

// TestPythonClient runs `python3 -m pytest -q tests` here with HANDOFF_BIN set to a
// freshly built handoff. It skips without pytest unless HANDOFF_REQUIRE_ALL=1.
func TestPythonClient(t *testing.T) {
	t.Parallel()
	py := os.Getenv("HANDOFF_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if out, err := exec.Command(py, "-c", "import pytest").CombinedOutput(); err != nil {
		testenv.Missing(t, "pytest for "+py, "apt-get install python3-pytest, or point HANDOFF_PYTHON at an interpreter that has it ("+string(out)+")")
	}
	bin := filepath.Join(t.TempDir(), "handoff")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/handoff")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building handoff: %s", out)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests")
	cmd.Env = append(os.Environ(), "HANDOFF_BIN="+bin, "PYTHONDONTWRITEBYTECODE=1")
	cmd.WaitDelay = 10 * time.Second
	var buf testenv.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err = cmd.Run()
	t.Log(buf.String())
	require.NoError(t, err, "pytest failed:\n%s", buf.String())
}
