package verify

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultRuns        = 3
	DefaultTestTimeout = 5 * time.Minute
	DefaultPython      = "/usr/bin/python3"
)

// Options say what to verify and how. The zero value of every field but Dir
// and Module works.
type Options struct {
	Dir         string        // task directory (absolute)
	Module      string        // module path relative to Dir: a .go file, a Go package directory or a .py file
	Output      string        // output path relative to Dir; empty means DefaultOutput
	Language    string        // LanguageGo or LanguagePython; empty means Language(Dir, Module)
	Threshold   float64       // coverage goal in percent
	Runs        int           // runs a test must pass to count as stable; zero means DefaultRuns
	TestTimeout time.Duration // bound of one test run; zero means DefaultTestTimeout
	// Python is the interpreter with pytest and coverage.py. Empty means
	// $HANDOFF_PYTHON, else DefaultPython.
	Python string
	// Log receives the command transcript; nil discards it.
	Log io.Writer
}

// normalize validates o and fills its defaults.
func (o Options) normalize() (Options, error) {
	if !filepath.IsAbs(o.Dir) {
		return o, fmt.Errorf("verify: task directory %q must be an absolute path", o.Dir)
	}
	mod, err := cleanModule(o.Module)
	if err != nil {
		return o, err
	}
	o.Module = mod
	if o.Language == "" {
		if o.Language, err = Language(o.Dir, o.Module); err != nil {
			return o, err
		}
	}
	if o.Language != LanguageGo && o.Language != LanguagePython {
		return o, fmt.Errorf("%w: language %q; handoff verifies %q and %q", ErrUnsupportedModule, o.Language, LanguageGo, LanguagePython)
	}
	if o.Output == "" {
		if o.Output, err = DefaultOutput(o.Dir, o.Module); err != nil {
			return o, err
		}
	}
	out, err := cleanModule(o.Output)
	if err != nil || out == "." || !IsTestFile(o.Language, out) || path.Base(out) == "conftest.py" {
		return o, fmt.Errorf("verify: output %q is not a %s test file path inside the workspace; name it like %s", o.Output, o.Language, exampleTestName(o.Language))
	}
	o.Output = out
	if o.Runs <= 0 {
		o.Runs = DefaultRuns
	}
	if o.TestTimeout <= 0 {
		o.TestTimeout = DefaultTestTimeout
	}
	if o.Python == "" {
		o.Python = os.Getenv("HANDOFF_PYTHON")
	}
	if o.Python == "" {
		o.Python = DefaultPython
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o, nil
}

func exampleTestName(language string) string {
	if language == LanguagePython {
		return "tests/test_x.py"
	}
	return "pkg/x_test.go"
}
