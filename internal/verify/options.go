package verify

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/sandbox"
)

// DefaultPython is the interpreter when Options.Python and $HANDOFF_PYTHON
// say none. Runs and TestTimeout default to the request's defaults
// (handofftype.DefaultRuns, handofftype.DefaultTestTimeout).
const DefaultPython = "/usr/bin/python3"

// DefaultLimits bound each test run when Options.Limits and the
// environment say nothing: room for go test to build and link a large
// package, none for a test that fills the disk, forks without end or
// allocates without bound.
var DefaultLimits = sandbox.Limits{
	WriteBytes:  1 << 30, // per file, and per tmpfs of the sandbox
	Processes:   1024,    // processes and threads at once
	MemoryBytes: 4 << 30, // address space per process; memory of the run where a cgroup can be made
}

// Options say what to verify and how. The zero value of every field but Dir
// and Module works.
type Options struct {
	Dir         string        // task directory (absolute)
	Module      string        // module path relative to Dir: a .go file, a Go package directory or a .py file
	Output      string        // output path relative to Dir; empty means DefaultOutput
	Language    string        // LanguageGo or LanguagePython; empty means Language(Dir, Module)
	Threshold   float64       // coverage goal in percent
	Runs        int           // runs a test must pass to count as stable; zero means handofftype.DefaultRuns
	TestTimeout time.Duration // bound of one test run; zero means handofftype.DefaultTestTimeout
	// Python is the interpreter with pytest and coverage.py. Empty means
	// $HANDOFF_PYTHON, else DefaultPython.
	Python string
	// Log receives the command transcript; nil discards it.
	Log io.Writer
	// Limits bound each test run. A zero field means
	// $HANDOFF_LIMIT_WRITE, $HANDOFF_LIMIT_PROCESSES or
	// $HANDOFF_LIMIT_MEMORY (bytes with an optional K, M or G suffix; 0
	// for none), else DefaultLimits; a negative field sets no limit.
	Limits sandbox.Limits
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
		if o.Language, err = Language(os.DirFS(o.Dir), o.Module); err != nil {
			return o, err
		}
	}
	if o.Language != LanguageGo && o.Language != LanguagePython {
		return o, fmt.Errorf("%w: language %q; handoff verifies %q and %q", ErrUnsupportedModule, o.Language, LanguageGo, LanguagePython)
	}
	if o.Output == "" {
		if o.Output, err = DefaultOutput(os.DirFS(o.Dir), o.Module); err != nil {
			return o, err
		}
	}
	if err := CheckOutput(o.Language, o.Output); err != nil {
		return o, fmt.Errorf("verify: %w", err)
	}
	o.Output = path.Clean(filepath.ToSlash(o.Output))
	if o.Runs <= 0 {
		o.Runs = handofftype.DefaultRuns
	}
	if o.TestTimeout <= 0 {
		o.TestTimeout = handofftype.DefaultTestTimeout
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
	if o.Limits, err = normalizeLimits(o.Limits); err != nil {
		return o, err
	}
	return o, nil
}

// normalizeLimits fills the zero fields of l from the environment or the
// defaults, and turns negative ones into zero (no limit).
func normalizeLimits(l sandbox.Limits) (sandbox.Limits, error) {
	fill := func(v *int64, env string, def int64) error {
		if *v == 0 {
			*v = def
			if s := os.Getenv(env); s != "" {
				n, err := parseBytes(s)
				if err != nil {
					return fmt.Errorf("verify: %s=%q: %v; give a number of bytes such as 536870912 or 512M, or 0 for no limit", env, s, err)
				}
				*v = n
			}
		}
		*v = max(*v, 0)
		return nil
	}
	procs := int64(l.Processes)
	for _, f := range []struct {
		v   *int64
		env string
		def int64
	}{{&l.WriteBytes, "HANDOFF_LIMIT_WRITE", DefaultLimits.WriteBytes}, {&procs, "HANDOFF_LIMIT_PROCESSES", int64(DefaultLimits.Processes)},
		{&l.MemoryBytes, "HANDOFF_LIMIT_MEMORY", DefaultLimits.MemoryBytes}} {
		if err := fill(f.v, f.env, f.def); err != nil {
			return l, err
		}
	}
	l.Processes = int(procs)
	return l, nil
}

// parseBytes reads "1048576", "512K", "64M" or "4G".
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	if n := len(s); n > 0 {
		switch strings.ToUpper(s[n-1:]) {
		case "K":
			mult = 1 << 10
		case "M":
			mult = 1 << 20
		case "G":
			mult = 1 << 30
		}
		if mult > 1 {
			s = s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a size")
	}
	return n * mult, nil
}
