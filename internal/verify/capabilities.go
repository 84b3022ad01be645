package verify

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/internal/sandbox"
)

// Capabilities is what this machine can verify, as a worker records it so
// that only tasks it can serve come its way.
type Capabilities struct {
	// Languages lists the languages whose tests this machine can run:
	// LanguageGo with a go command, LanguagePython with an interpreter that
	// imports pytest and coverage.
	Languages []string `json:"languages"`
	// Go is `go env GOVERSION`'s answer ("go1.26.8"); empty without Go.
	Go string `json:"go,omitempty"`
	// Python names the interpreter and its pytest and coverage.py versions
	// ("/usr/bin/python3 3.13.5, pytest 8.3.5, coverage 7.6.1"); empty
	// when it cannot run them, and then PythonProblem says why.
	Python        string `json:"python,omitempty"`
	PythonProblem string `json:"python_problem,omitempty"`
	// Bwrap says whether generated code runs under bubblewrap here.
	Bwrap bool `json:"bwrap"`
}

// probeTimeout bounds each toolchain probe: a worker starts without the
// language rather than hang on a broken interpreter.
const probeTimeout = 20 * time.Second

// Probe finds what this machine can verify: the go command on PATH and
// the Python interpreter of Options (python; empty means $HANDOFF_PYTHON,
// else DefaultPython) with pytest and coverage.py.
func Probe(ctx context.Context, python string) Capabilities {
	var c Capabilities
	if out, err := probe(ctx, "go", "env", "GOVERSION"); err == nil && strings.HasPrefix(out, "go") {
		c.Go = out
		c.Languages = append(c.Languages, LanguageGo)
	}
	if python == "" {
		python = os.Getenv("HANDOFF_PYTHON")
	}
	if python == "" {
		python = DefaultPython
	}
	const script = "import sys, pytest, coverage; print('%d.%d.%d, pytest %s, coverage %s' % (sys.version_info[:3] + (pytest.__version__, coverage.__version__)))"
	if out, err := probe(ctx, python, "-c", script); err == nil {
		c.Python = python + " " + out
		c.Languages = append(c.Languages, LanguagePython)
	} else {
		c.PythonProblem = python + " cannot import pytest and coverage (install python3-pytest and python3-coverage, or set HANDOFF_PYTHON): " + err.Error()
	}
	c.Bwrap = sandbox.BwrapAvailable()
	return c
}

// probe runs a trusted toolchain command and returns its trimmed output.
func probe(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = sandbox.ScrubbedEnv()
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			return "", &probeError{err: err, stderr: excerpt(string(ee.Stderr))}
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

type probeError struct {
	err    error
	stderr string
}

func (e *probeError) Error() string { return e.err.Error() + ": " + e.stderr }
